import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { createSealer, OPENED_CACHE_CHARS, sealedText } from '../../common/sealer.js';

const keys = new Map([
  ['k1', randomBytes(32)],
  ['k2', randomBytes(32)],
]);
const encryption = { keys, activeKeyId: 'k1' };
/** A sealer with a cache of its own, so that counts start at zero. */
const ownSealer = () => createSealer(encryption, { cacheChars: OPENED_CACHE_CHARS });

/** A payload with one bit of its ciphertext flipped (after iv and tag). */
function tampered(payload: string): string {
  const raw = Buffer.from(payload, 'base64');
  raw[30]! ^= 1;
  return raw.toString('base64');
}

// Opened plaintext is kept (issue 13: a list page opens 20 to 40 values): the cache must never open what
// deciphering refuses, nor answer for another binding, key or payload.
describe('sealer: opened values kept', () => {
  it('opens what it sealed, then from its cache, equal each time', () => {
    const sealer = ownSealer();
    const value = { title: 'Consultation', content: 'Douleur thoracique', prescription: null };
    const sealed = sealer.seal(value, 'row-1');
    expect(sealer.open(sealed, 'row-1')).to.deep.equal(value);
    expect(sealer.cached).to.equal(1);
    const again = sealer.open<typeof value>(sealed, 'row-1');
    expect(again).to.deep.equal(value);
    // A fresh object each time: a caller changing it does not change what the next caller reads.
    again.title = 'changed';
    expect(sealer.open<typeof value>(sealed, 'row-1').title).to.equal('Consultation');
    // The row written again: its new payload opens to the new value, and replaces the old one in the cache.
    const rewritten = sealer.seal({ ...value, title: 'Suivi' }, 'row-1');
    expect(sealer.open<typeof value>(rewritten, 'row-1').title).to.equal('Suivi');
    expect(sealer.cached).to.equal(1);
    expect(sealer.open<typeof value>(sealed, 'row-1').title).to.equal('Consultation');
  });

  const refusals: [string, (s: { keyId: string; payload: string }) => [{ keyId: string; payload: string }, string]][] = [
    ['another row (binding)', (s) => [s, 'row-2']],
    ['a flipped bit', (s) => [{ ...s, payload: tampered(s.payload) }, 'row-1']],
    ['another configured key', (s) => [{ ...s, keyId: 'k2' }, 'row-1']],
    ['an unknown key', (s) => [{ ...s, keyId: 'k9' }, 'row-1']],
  ];
  for (const [name, change] of refusals) {
    it(`refuses ${name} even after the original was opened and kept`, () => {
      const sealer = ownSealer();
      const sealed = sealer.seal('secret', 'row-1');
      expect(sealer.open(sealed, 'row-1')).to.equal('secret');
      const [other, boundTo] = change(sealed);
      expect(() => sealer.open(other, boundTo)).to.throw();
      expect(sealer.cached).to.equal(1);
    });
  }

  it('keeps at most its budget, least recently used out first', () => {
    const sealer = createSealer(encryption, { cacheChars: 2_000 });
    const sealed = Array.from({ length: 40 }, (_, i) => sealer.seal(`value ${i}`, `row-${i}`));
    sealed.forEach((s, i) => expect(sealer.open(s, `row-${i}`)).to.equal(`value ${i}`));
    expect(sealer.cached).to.be.greaterThan(0).and.lessThan(40);
    const kept = sealer.cached;
    // Every value still opens, kept or not.
    sealed.forEach((s, i) => expect(sealer.open(s, `row-${i}`)).to.equal(`value ${i}`));
    expect(sealer.cached).to.equal(kept);
  });

  it('keeps nothing with a zero budget, and nothing larger than an eighth of it', () => {
    const off = createSealer(encryption, { cacheChars: 0 });
    expect(off.open(off.seal('x', 'r'), 'r')).to.equal('x');
    expect(off.cached).to.equal(0);
    const small = createSealer(encryption, { cacheChars: 800 });
    expect(small.open(small.seal('y'.repeat(200), 'r'), 'r')).to.equal('y'.repeat(200));
    expect(small.cached).to.equal(0);
  });

  it('sealers of the same keys share one cache; other keys of the same ids never read from it', () => {
    const own = new Map([['k1', randomBytes(32)]]);
    const [a, b] = [createSealer({ keys: own, activeKeyId: 'k1' }), createSealer({ keys: own, activeKeyId: 'k1' })];
    const sealed = a.seal('shared', 'row-1');
    expect(a.open(sealed, 'row-1')).to.equal('shared');
    expect(b.cached).to.equal(1);
    expect(b.open(sealed, 'row-1')).to.equal('shared');
    // Same key id, other key bytes: the cached plaintext must not answer, the decipher must refuse.
    const other = createSealer({ keys: new Map([['k1', randomBytes(32)]]), activeKeyId: 'k1' });
    expect(other.cached).to.equal(0);
    expect(() => other.open(sealed, 'row-1')).to.throw();
  });

  it('sealed text columns: bound to row and field, plain values as they are', () => {
    const { seal, open } = sealedText(createSealer(encryption));
    const stored = seal('Contrôle annuel', 'a1', 'reason');
    expect(open(stored, 'a1', 'reason')).to.equal('Contrôle annuel');
    expect(open(stored, 'a1', 'reason')).to.equal('Contrôle annuel');
    expect(() => open(stored, 'a1', 'status_reason')).to.throw();
    expect(() => open(stored, 'a2', 'reason')).to.throw();
    expect(open('written before encryption', 'a1', 'reason')).to.equal('written before encryption');
    expect(open(null, 'a1', 'reason')).to.equal(null);
  });
});
