import { expect } from 'chai';
import { ConfigError, loadConfig, loadDatabaseConfig } from '../common/config.js';

const SECRET = 'x'.repeat(40);
const KEYS = `k1:${Buffer.alloc(32, 1).toString('base64')}`;

describe('configuration', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig({ ENCRYPTION_KEYS: KEYS, SECRET_KEY: SECRET });
    expect(c.db).to.include({ name: 'mediconnect', user: 'mediconnect', host: '127.0.0.1', port: 5432 });
    expect(c.api).to.include({ host: '127.0.0.1', port: 8000 });
    expect(c.superAdminEmail).to.equal('admin@mediconnect.local');
    expect(c.debug).to.equal(false);
    expect(c.logLevel).to.equal('info');
  });

  it('reads the names hospitals use in their .env files', () => {
    const c = loadConfig({
      ENCRYPTION_KEYS: KEYS,
      SECRET_KEY: SECRET,
      DEBUG: 'True',
      DB_NAME: 'medical_db',
      DB_USER: 'postgres',
      DB_PASSWORD: 'pw',
      DB_HOST: 'db',
      DB_PORT: '6543',
    });
    expect(c.debug).to.equal(true);
    expect(c.logLevel).to.equal('debug');
    expect(c.db).to.include({ name: 'medical_db', user: 'postgres', password: 'pw', host: 'db', port: 6543 });
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ ENCRYPTION_KEYS: KEYS, SECRET_KEY: SECRET, DB_PORT: '' }).db.port).to.equal(5432);
  });

  it('refuses a missing or short SECRET_KEY and invalid values, naming each variable', () => {
    expect(() => loadConfig({})).to.throw(ConfigError, /SECRET_KEY/);
    expect(() => loadConfig({ ENCRYPTION_KEYS: KEYS, SECRET_KEY: 'short' })).to.throw(ConfigError, /SECRET_KEY/);
    try {
      loadConfig({ ENCRYPTION_KEYS: KEYS, SECRET_KEY: SECRET, DB_PORT: 'abc', DEBUG: 'maybe' });
      expect.fail('should throw');
    } catch (err) {
      expect(err).to.be.instanceOf(ConfigError);
      expect((err as ConfigError).issues.join('\n'))
        .to.match(/DB_PORT/)
        .and.match(/DEBUG/);
    }
  });

  it('reads the encryption keys and picks the last one unless told otherwise', () => {
    const two = `${KEYS},k2:${Buffer.alloc(32, 2).toString('base64')}`;
    expect(loadConfig({ SECRET_KEY: SECRET, ENCRYPTION_KEYS: two }).encryption.activeKeyId).to.equal('k2');
    expect(loadConfig({ SECRET_KEY: SECRET, ENCRYPTION_KEYS: two, ENCRYPTION_ACTIVE_KEY_ID: 'k1' }).encryption.activeKeyId).to.equal('k1');
    expect(() => loadConfig({ SECRET_KEY: SECRET })).to.throw(ConfigError, /ENCRYPTION_KEYS/);
    expect(() => loadConfig({ SECRET_KEY: SECRET, ENCRYPTION_KEYS: 'k1:c2hvcnQ=' })).to.throw(ConfigError, /32 bytes/);
    expect(() => loadConfig({ SECRET_KEY: SECRET, ENCRYPTION_KEYS: KEYS, ENCRYPTION_ACTIVE_KEY_ID: 'nope' })).to.throw(ConfigError, /nope/);
  });

  it('migrations need only the database settings, no secrets', () => {
    const c = loadDatabaseConfig({ DB_NAME: 'x', BCRYPT_ROUNDS: '5' });
    expect(c).to.deep.include({ superAdminEmail: 'admin@mediconnect.local', bcryptRounds: 5 });
    expect(c.db.name).to.equal('x');
    expect(() => loadDatabaseConfig({ DB_PORT: 'nope' })).to.throw(ConfigError, /DB_PORT/);
  });

  it('returns a frozen object', () => {
    expect(Object.isFrozen(loadConfig({ ENCRYPTION_KEYS: KEYS, SECRET_KEY: SECRET }))).to.equal(true);
  });
});
