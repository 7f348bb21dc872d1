import { Model, snakeCaseMappers } from 'objection';

// Objection stays behind the repositories: handlers and services never see a Model, only plain DTOs,
// so the library can be replaced by plain knex queries without touching them.

/** Row model of `hospitals`. */
export class HospitalModel extends Model {
  static override tableName = 'hospitals';
  static override get columnNameMappers() {
    return snakeCaseMappers();
  }
  id!: string;
  name!: string;
  address!: string | null;
  city!: string | null;
  phone!: string | null;
  email!: string | null;
  isActive!: boolean;
  createdAt!: Date;
  updatedAt!: Date;
  deletedAt!: Date | null;
}
