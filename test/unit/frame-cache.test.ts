import { expect } from 'chai';
import { FrameCache, STUDY_CONTENT_CHANNEL, type CachedAnswer } from '../../dicom-proxy/src/frame-cache.js';

/** A listener whose notifications and resets the test sends. */
function fakeListener() {
  const handlers = new Map<string, (payload: string) => void>();
  const resets: (() => void)[] = [];
  return {
    listening: true,
    on: (channel: string, handler: (payload: string) => void) => void handlers.set(channel, handler),
    onReset: (handler: () => void) => void resets.push(handler),
    notify: (channel: string, payload: string) => handlers.get(channel)?.(payload),
    reset: () => resets.forEach((r) => r()),
  };
}

const answer = (size: number, fill = 1): CachedAnswer => ({
  type: 'application/octet-stream',
  headers: {},
  body: Buffer.alloc(size, fill),
  namesOrthanc: false,
});

/** Misses, then keeps the given answer, as a request that went to Orthanc does. */
function fillWith(cache: FrameCache, key: string, study: string, a: CachedAnswer): void {
  const found = cache.lookup(key, study);
  expect(found.hit).to.equal(null);
  found.fill!.store(a);
}

describe('frame cache (pure)', () => {
  it('keeps an answer after a miss and serves it; counts hits and misses', () => {
    const listener = fakeListener();
    const cache = new FrameCache(1000, 60_000, listener);
    const seen: string[] = [];
    cache.onLookup = (r) => seen.push(r);
    fillWith(cache, 'k1', 's1', answer(100));
    expect(cache.lookup('k1', 's1').hit?.body.length).to.equal(100);
    expect(seen).to.deep.equal(['miss', 'hit']);
    expect(cache.stats).to.deep.equal({ bytes: 100, entries: 1 });
  });

  it('stays within its budget, least recently used out first; an answer over an eighth of it is not kept', () => {
    const cache = new FrameCache(1000, 60_000, fakeListener());
    for (const k of ['a', 'b', 'c', 'd']) fillWith(cache, k, 's', answer(120));
    cache.lookup('a', 's'); // a is now the most recently used
    for (const k of ['e', 'f', 'g', 'h', 'i']) fillWith(cache, k, 's', answer(120));
    expect(cache.stats.bytes).to.be.at.most(1000);
    expect(cache.lookup('a', 's').hit, 'recently used: kept').to.not.equal(null);
    expect(cache.lookup('b', 's').hit, 'least recently used: out').to.equal(null);
    fillWith(cache, 'big', 's', answer(126));
    expect(cache.lookup('big', 's').hit, 'over an eighth of the budget').to.equal(null);
  });

  it('a study the database announces as changed is dropped, and only that study', () => {
    const listener = fakeListener();
    const cache = new FrameCache(10_000, 60_000, listener);
    fillWith(cache, 'x1', 'study-x', answer(10));
    fillWith(cache, 'x2', 'study-x', answer(10));
    fillWith(cache, 'y1', 'study-y', answer(10));
    listener.notify(STUDY_CONTENT_CHANNEL, 'study-x');
    expect(cache.lookup('x1', 'study-x').hit).to.equal(null);
    expect(cache.lookup('x2', 'study-x').hit).to.equal(null);
    expect(cache.lookup('y1', 'study-y').hit).to.not.equal(null);
    expect(cache.stats).to.deep.equal({ bytes: 10, entries: 1 });
  });

  it('an answer fetched while a change was announced is not kept, nor one fetched while not listening', () => {
    const listener = fakeListener();
    const cache = new FrameCache(10_000, 60_000, listener);
    const raced = cache.lookup('k', 's');
    listener.notify(STUDY_CONTENT_CHANNEL, 'other-study');
    raced.fill!.store(answer(10));
    expect(cache.lookup('k', 's').hit, 'raced a change').to.equal(null);
    listener.listening = false;
    cache.lookup('k2', 's').fill!.store(answer(10));
    expect(cache.lookup('k2', 's').hit, 'not listening').to.equal(null);
  });

  it('a lost listener empties it; an entry older than its stay is asked again; a budget of 0 keeps nothing', async () => {
    const listener = fakeListener();
    const cache = new FrameCache(10_000, 60_000, listener);
    fillWith(cache, 'k', 's', answer(10));
    listener.reset();
    expect(cache.stats).to.deep.equal({ bytes: 0, entries: 0 });
    const brief = new FrameCache(10_000, 1, fakeListener());
    fillWith(brief, 'k', 's', answer(10));
    await new Promise((r) => setTimeout(r, 5));
    expect(brief.lookup('k', 's').hit).to.equal(null);
    expect(brief.stats.entries).to.equal(0);
    const off = new FrameCache(0, 60_000, fakeListener());
    expect(off.enabled).to.equal(false);
    expect(off.lookup('k', 's').fill).to.equal(undefined);
  });
});
