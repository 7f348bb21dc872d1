import { expect } from 'chai';
import { isConcurrencyConflict, retryOnConflict } from '../../common/retry.js';

const pgError = (code: string) => Object.assign(new Error(`pg ${code}`), { code });

describe('retryOnConflict: our own transactions’ conflicts stay ours (pure)', () => {
  const cases: [string, unknown, boolean][] = [
    ['serialization failure', pgError('40001'), true],
    ['deadlock', pgError('40P01'), true],
    ['unique violation', pgError('23505'), false],
    ['connection refused', Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), false],
    ['no code', new Error('x'), false],
    ['not an error', null, false],
  ];
  for (const [what, err, conflict] of cases)
    it(`${what} → ${conflict ? 'retried' : 'thrown'}`, () => expect(isConcurrencyConflict(err)).to.equal(conflict));

  it('runs the work again after a deadlock and answers its result', async () => {
    let calls = 0;
    const result = await retryOnConflict(async () => {
      calls++;
      if (calls < 3) throw pgError('40P01');
      return 'done';
    }, 'test');
    expect([result, calls]).to.deep.equal(['done', 3]);
  });

  it('throws any other error at once, and a conflict that outlives the attempts', async () => {
    let calls = 0;
    const other = await retryOnConflict(async () => {
      calls++;
      throw pgError('23505');
    }, 'test').catch((e: Error) => e);
    expect([(other as { code?: string }).code, calls]).to.deep.equal(['23505', 1]);
    calls = 0;
    const lasting = await retryOnConflict(
      async () => {
        calls++;
        throw pgError('40001');
      },
      'test',
      undefined,
      4,
    ).catch((e: Error) => e);
    expect([(lasting as { code?: string }).code, calls]).to.deep.equal(['40001', 4]);
  });
});
