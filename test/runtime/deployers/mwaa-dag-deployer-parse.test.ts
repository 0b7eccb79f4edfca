/** The rule verify waits by: has the environment parsed each file of the repo since its upload? (pure), and the wait props. */
import { S3Client } from '@aws-sdk/client-s3';
import { MwaaDagDeployer } from '../../../lib/runtime/deployers/mwaa-dag-deployer';
import { assessParse, type ParseInput } from '../../../lib/runtime/mwaa/parse-freshness';

const T = Date.parse('2026-11-28T12:00:00Z');
const at = (ms: number): Date => new Date(T + ms);

/** a.py (DAG a_dag) uploaded at T, 30 s sync lag, looked at 10 minutes later. */
const base: ParseInput = {
  objects: new Map([['a.py', at(0)]]),
  expected: new Map([['a.py', ['a_dag']]]),
  listed: [],
  importErrors: new Map(),
  now: T + 600_000,
  syncLagMs: 30_000,
};

type Case = [string, Partial<ParseInput>, { errors?: string[]; pending?: Array<[string, RegExp]> }];

const cases: Case[] = [
  ['a DAG parsed later than upload + 1 s + sync lag counts as parsed', { listed: [{ dagId: 'a_dag', file: 'a.py', lastParsedTime: at(31_000) }] }, {}],
  [
    'a parse within the sync lag may be of the previous file',
    { listed: [{ dagId: 'a_dag', file: 'a.py', lastParsedTime: at(30_999) }] },
    { pending: [['a.py', /DAG a_dag was last parsed at 2026-11-28T12:00:30Z, not after its upload at 2026-11-28T12:00:00Z plus the sync lag/]] },
  ],
  [
    'a parse in the same second as the upload does not count, even with no sync lag (S3 times are whole seconds)',
    { syncLagMs: 0, listed: [{ dagId: 'a_dag', file: 'a.py', lastParsedTime: at(900) }] },
    { pending: [['a.py', /DAG a_dag was last parsed at/]] },
  ],
  ['a release DAG not listed yet is waited for', {}, { pending: [['a.py', /DAG a_dag is not listed yet/]] }],
  [
    'a DAG the scheduler has no record of yet is waited for',
    { listed: [{ dagId: 'a_dag', file: 'a.py', lastParsedTime: null }] },
    { pending: [['a.py', /DAG a_dag has no parse recorded by the scheduler yet/]] },
  ],
  [
    'a DAG still listed from the file it moved out of is waited for, and so is that deleted file',
    { listed: [{ dagId: 'a_dag', file: 'old.py', lastParsedTime: at(60_000) }] },
    {
      pending: [
        ['a.py', /DAG a_dag is still listed from old\.py/],
        ['old.py', /the file is deleted, but DAG\(s\) a_dag are still listed from it/],
      ],
    },
  ],
  [
    "a DAG the inventory does not know is waited for when it is listed from the file's previous parse",
    { expected: new Map(), listed: [{ dagId: 'computed_id', file: 'a.py', lastParsedTime: at(-60_000) }] },
    { pending: [['a.py', /DAG computed_id was last parsed at/]] },
  ],
  ['an import error shown after the sync lag is the release\'s', { importErrors: new Map([['a.py', 'ModuleNotFoundError']]), now: T + 31_000 }, { errors: ['a.py'] }],
  [
    'an import error shown within the sync lag may be the previous file\'s',
    { importErrors: new Map([['a.py', 'ModuleNotFoundError']]), now: T + 30_999 },
    { pending: [['a.py', /shows an import error, but .* is less than the sync lag after its upload/]] },
  ],
  [
    'a changed non-DAG file (a helper the DAG may import) needs the DAG file parsed after it too',
    { objects: new Map([['a.py', at(0)], ['common.py', at(100_000)]]), listed: [{ dagId: 'a_dag', file: 'a.py', lastParsedTime: at(60_000) }] },
    { pending: [['a.py', /not after the change of another file of the repo at 2026-11-28T12:01:40Z/]] },
  ],
  [
    'a deleted file whose import error is still shown is waited for',
    { listed: [{ dagId: 'a_dag', file: 'a.py', lastParsedTime: at(60_000) }], importErrors: new Map([['gone.py', 'SyntaxError']]) },
    { pending: [['gone.py', /the file is deleted, but its import error is still shown/]] },
  ],
  [
    "another repo's DAGs are ignored",
    { listed: [{ dagId: 'a_dag', file: 'a.py', lastParsedTime: at(60_000) }, { dagId: 'elsewhere', file: null, lastParsedTime: null }] },
    {},
  ],
];

describe('assessParse', () => {
  it.each(cases)('%s', (_name, over, want) => {
    // GIVEN the S3 folder, the release inventory and what the environment shows
    const input = { ...base, ...over };
    // WHEN it is assessed
    const got = assessParse(input);
    // THEN exactly the expected files are current import errors or still pending, for the expected reason
    expect(got.importErrors.map((e) => e.file)).toEqual(want.errors ?? []);
    expect(got.pending.map((p) => p.file)).toEqual((want.pending ?? []).map(([f]) => f));
    for (const [file, reason] of want.pending ?? []) expect(got.pending.find((p) => p.file === file)?.reasons.join('; ')).toMatch(reason);
  });
});

describe('MwaaDagDeployer wait props', () => {
  it.each([
    ['parseWaitMs', { parseWaitMs: -1 }, /parseWaitMs is -1, expected a number of milliseconds >= 0/],
    ['parsePollMs', { parsePollMs: 0 }, /parsePollMs is 0, expected a number of milliseconds >= 1/],
    ['syncLagMs', { syncLagMs: Number.NaN }, /syncLagMs is NaN, expected a number of milliseconds >= 0/],
  ])('fails naming %s when it is not a usable number of milliseconds', (_name, over, message) => {
    // GIVEN deployer props with one bad wait setting
    const props = { s3: new S3Client({ region: 'us-east-1' }), airflow: { run: async () => ({ stdout: '', stderr: '' }) }, ...over };
    // WHEN the deployer is built THEN it fails naming the prop, the value and what is allowed
    expect(() => new MwaaDagDeployer(props)).toThrow(message);
  });
});
