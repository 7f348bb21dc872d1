"""MediConnect storage area for Orthanc.

Stores every DICOM instance exactly once, under
    patients/{PatientID}/studies/{StudyInstanceUID}/series/{SeriesInstanceUID}/{SOPInstanceUID}.dcm
in an S3/MinIO bucket (when MINIO_ENDPOINT is set) or in a local directory (MEDICONNECT_STORAGE_DIR).
Orthanc only knows its attachment uuids, so the uuid -> key mapping is kept in PostgreSQL
(table orthanc_storage_keys of the clinical database): it survives restarts and is shared by every
Orthanc process that uses the same bucket.

It also guards the DICOM door (C-STORE): an instance a device pushes is refused when it would touch another
patient's images — a study, series or SOP Instance UID already held under another PatientID, or a study that
belongs to a patient the device's hospital does not follow.

Configuration comes from the environment of the Orthanc process (see scripts/lib/orthanc.ts).
"""

import io
import os
import re
import tempfile
import threading

import orthanc
import psycopg2
import psycopg2.pool
import pydicom

SAFE = re.compile(r"[^A-Za-z0-9._-]")
DICOM = 1


def env(name, default=None):
    value = os.environ.get(name, "")
    return value if value != "" else default


def segment(value, fallback):
    """A path segment that cannot escape its folder: UIDs and our identifiers pass unchanged."""
    text = str(value or "").strip()
    text = SAFE.sub("_", text)
    if text in ("", ".", ".."):
        return fallback
    return text[:128]


class LocalStore:
    def __init__(self, root):
        self.root = os.path.abspath(root)
        os.makedirs(self.root, exist_ok=True)

    def _path(self, key):
        path = os.path.abspath(os.path.join(self.root, key))
        if not path.startswith(self.root + os.sep):
            raise ValueError("key escapes the storage root")
        return path

    def put(self, key, data):
        path = self._path(key)
        # Write then rename: a crash never leaves a half-written instance under its final name. A deletion may
        # remove the emptied folder between makedirs and mkstemp: make it again once.
        for attempt in (1, 2):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            try:
                fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
                break
            except FileNotFoundError:
                if attempt == 2:
                    raise
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def get(self, key):
        with open(self._path(key), "rb") as f:
            return f.read()

    def delete(self, key):
        path = self._path(key)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        # Folders are named by the patient's identifier and the study and series UIDs: once empty they go too
        # (an erasure must not leave them), up to the storage root.
        folder = os.path.dirname(path)
        while folder.startswith(self.root + os.sep):
            try:
                os.rmdir(folder)
            except OSError:
                break
            folder = os.path.dirname(folder)


class S3Store:
    def __init__(self):
        import boto3
        from botocore.config import Config

        endpoint = env("MINIO_ENDPOINT")
        secure = env("MINIO_SECURE", "false").lower() in ("1", "true", "yes", "on")
        if not endpoint.startswith("http"):
            endpoint = ("https://" if secure else "http://") + endpoint
        self.bucket = env("MINIO_BUCKET_NAME", "medical-images")
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=env("MINIO_ACCESS_KEY"),
            aws_secret_access_key=env("MINIO_SECRET_KEY"),
            region_name=env("MINIO_REGION", "us-east-1"),
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"max_attempts": int(env("MEDICONNECT_S3_MAX_ATTEMPTS", "3")), "mode": "standard"},
                connect_timeout=5,
                read_timeout=60,
            ),
        )

    def put(self, key, data):
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType="application/dicom")

    def get(self, key):
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def delete(self, key):
        self.client.delete_object(Bucket=self.bucket, Key=key)


store = S3Store() if env("MINIO_ENDPOINT") else LocalStore(env("MEDICONNECT_STORAGE_DIR", "/var/lib/mediconnect/dicom"))

pool = psycopg2.pool.ThreadedConnectionPool(
    1,
    int(env("MEDICONNECT_STORAGE_DB_POOL", "8")),
    host=env("MEDICONNECT_STORAGE_DB_HOST", "127.0.0.1"),
    port=int(env("MEDICONNECT_STORAGE_DB_PORT", "5432")),
    user=env("MEDICONNECT_STORAGE_DB_USER"),
    password=env("MEDICONNECT_STORAGE_DB_PASSWORD"),
    dbname=env("MEDICONNECT_STORAGE_DB_NAME"),
    application_name="orthanc-storage",
)
pool_lock = threading.Lock()


def sql(query, args=()):
    with pool_lock:
        conn = pool.getconn()
    try:
        with conn:
            with conn.cursor() as cur:
                cur.execute(query, args)
                return cur.fetchall() if cur.description else None
    finally:
        with pool_lock:
            pool.putconn(conn)


def key_for(uuid, data):
    ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True, force=True,
                         specific_tags=["PatientID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"])
    return "patients/%s/studies/%s/series/%s/%s.dcm" % (
        segment(ds.get("PatientID"), "_unknown"),
        segment(ds.get("StudyInstanceUID"), "_unknown"),
        segment(ds.get("SeriesInstanceUID"), "_unknown"),
        segment(ds.get("SOPInstanceUID"), segment(uuid, "x")),
    )


def on_create(uuid, content_type, data):
    content_type = int(content_type)
    if content_type != DICOM:
        sql("INSERT INTO orthanc_storage_keys (uuid, inline_data, content_type, size) VALUES (%s, %s, %s, %s)",
            (uuid, psycopg2.Binary(data), content_type, len(data)))
        return
    key = key_for(uuid, data)
    store.put(key, data)
    try:
        sql("INSERT INTO orthanc_storage_keys (uuid, object_key, content_type, size) VALUES (%s, %s, %s, %s)",
            (uuid, key, content_type, len(data)))
    except Exception:
        # Without its mapping the object is unreachable: remove it unless another attachment uses the key.
        if not sql("SELECT 1 FROM orthanc_storage_keys WHERE object_key = %s", (key,)):
            store.delete(key)
        raise


def on_read(uuid, content_type):
    rows = sql("SELECT object_key, inline_data FROM orthanc_storage_keys WHERE uuid = %s", (uuid,))
    if not rows:
        raise KeyError("no object for attachment %s" % uuid)
    key, inline = rows[0]
    return bytes(inline) if key is None else store.get(key)


def on_remove(uuid, content_type):
    rows = sql("DELETE FROM orthanc_storage_keys WHERE uuid = %s RETURNING object_key", (uuid,))
    if not rows:
        return
    key = rows[0][0]
    if key is None:
        return
    # The same SOP instance re-stored under a new attachment shares the key: keep the object for it.
    if not sql("SELECT 1 FROM orthanc_storage_keys WHERE object_key = %s", (key,)):
        store.delete(key)


orthanc.RegisterStorageArea(on_create, on_read, on_remove)
orthanc.LogWarning("MediConnect storage area: %s" % ("s3 bucket " + store.bucket if isinstance(store, S3Store) else "directory " + store.root))
