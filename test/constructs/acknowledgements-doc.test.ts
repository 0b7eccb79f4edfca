import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');
const sources = ['lib/constructs', 'lib/stacks'].flatMap((dir) =>
  fs
    .readdirSync(path.join(ROOT, dir))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(ROOT, dir, f)),
);

describe('docs/cdk-nag.md', () => {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'cdk-nag.md'), 'utf8');
  // every rule id acknowledged in the code, e.g. AwsSolutions-IAM5 or HIPAA.Security-LambdaInsideVPC
  const acknowledged = [
    ...new Set(sources.flatMap((file) => [...fs.readFileSync(file, 'utf8').matchAll(/\bid: [`'"]((?:AwsSolutions|HIPAA\.Security)-[A-Za-z0-9]+)/g)].map((m) => m[1]))),
  ].sort();

  it('finds the acknowledgements in the code', () => {
    expect(acknowledged.length).toBeGreaterThan(5);
  });

  it.each(acknowledged.map((id) => [id]))('lists the acknowledged rule %s with its reason', (id) => {
    expect(doc).toContain(id);
  });
});
