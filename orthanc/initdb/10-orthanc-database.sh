#!/bin/sh
# First start of the PostgreSQL container: Orthanc's index gets its own database next to the clinical one.
set -e
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -c "CREATE DATABASE \"${POSTGRES_DB}_orthanc\""
