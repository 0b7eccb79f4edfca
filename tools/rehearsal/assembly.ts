import * as fs from 'fs';
import * as path from 'path';
import { z } from 'zod';
import { RehearsalError } from './errors';

/** One resource of a CloudFormation template, as synthesized. */
export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

/** A stack of the cloud assembly: its template, account, region and asset folders. */
export interface AssemblyStack {
  readonly id: string;
  readonly account: string;
  readonly region: string;
  readonly resources: Readonly<Record<string, TemplateResource>>;
  readonly outputs: Readonly<Record<string, { readonly Value: unknown; readonly Export?: { readonly Name: string } }>>;
  /** Folder of a file asset of this stack, by its S3 object key (`<hash>.zip`). */
  readonly assetDirs: ReadonlyMap<string, string>;
}

const ManifestSchema = z.object({
  artifacts: z.record(
    z.string(),
    z.object({
      type: z.string(),
      environment: z.string().optional(),
      properties: z.object({ templateFile: z.string().optional(), file: z.string().optional() }).loose().optional(),
      dependencies: z.array(z.string()).optional(),
    }),
  ),
});

const TemplateSchema = z.object({
  Resources: z.record(z.string(), z.object({ Type: z.string(), Properties: z.record(z.string(), z.unknown()).optional() }).loose()),
  Outputs: z.record(z.string(), z.object({ Value: z.unknown(), Export: z.object({ Name: z.string() }).optional() })).optional(),
});

const AssetManifestSchema = z.object({
  files: z
    .record(
      z.string(),
      z.object({
        source: z.object({ path: z.string().optional(), packaging: z.string().optional() }),
        destinations: z.record(z.string(), z.object({ objectKey: z.string() })),
      }),
    )
    .optional(),
});

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new RehearsalError(`${what} ${file} cannot be read (${(e as Error).message}); run 'npx cdk synth' first, or pass --assembly with the folder cdk synth wrote`, { cause: e });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new RehearsalError(`${what} ${file} is not JSON (${(e as Error).message}); synthesize again with 'npx cdk synth'`, { cause: e });
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    throw new RehearsalError(`${what} is not what cdk synth writes: ${r.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ')}; synthesize again with 'npx cdk synth'`);
  }
  return r.data;
}

/**
 * The cloud assembly `cdk synth` wrote (cdk.out): every CloudFormation stack with its template,
 * environment and file assets. Nothing else is read: the rehearsal runs what was synthesized.
 */
export class CloudAssembly {
  private constructor(
    readonly dir: string,
    readonly stacks: ReadonlyMap<string, AssemblyStack>,
  ) {}

  /** Reads `dir/manifest.json` and every stack template and asset manifest it names. */
  static read(dir: string): CloudAssembly {
    const root = path.resolve(dir);
    const manifest = parse(ManifestSchema, readJson(path.join(root, 'manifest.json'), 'cloud assembly manifest'), `${root}/manifest.json`);
    const assetFiles = new Map<string, string>();
    for (const [id, a] of Object.entries(manifest.artifacts)) {
      if (a.type === 'cdk:asset-manifest' && a.properties?.file) assetFiles.set(id.replace(/\.assets$/, ''), path.join(root, a.properties.file));
    }
    const stacks = new Map<string, AssemblyStack>();
    for (const [id, a] of Object.entries(manifest.artifacts)) {
      if (a.type !== 'aws:cloudformation:stack') continue;
      const m = /^aws:\/\/(\d{12})\/([a-z0-9-]+)$/.exec(a.environment ?? '');
      if (!m) throw new RehearsalError(`stack ${id} in ${root}/manifest.json has environment '${a.environment ?? ''}', not aws://<account>/<region>; the rehearsal needs stacks with an explicit account and region`);
      const templateFile = path.join(root, a.properties?.templateFile ?? `${id}.template.json`);
      const template = parse(TemplateSchema, readJson(templateFile, `template of stack ${id}`), templateFile);
      const assetDirs = new Map<string, string>();
      const assetsFile = assetFiles.get(id);
      if (assetsFile && fs.existsSync(assetsFile)) {
        const assets = parse(AssetManifestSchema, readJson(assetsFile, `asset manifest of stack ${id}`), assetsFile);
        for (const f of Object.values(assets.files ?? {})) {
          if (!f.source.path) continue;
          for (const d of Object.values(f.destinations)) assetDirs.set(d.objectKey, path.join(root, f.source.path));
        }
      }
      stacks.set(id, { id, account: m[1], region: m[2], resources: template.Resources, outputs: template.Outputs ?? {}, assetDirs });
    }
    if (stacks.size === 0) throw new RehearsalError(`the cloud assembly ${root} holds no CloudFormation stack; run 'npx cdk synth' first`);
    return new CloudAssembly(root, stacks);
  }

  /** A stack by id. @throws RehearsalError naming the stacks there are */
  stack(id: string): AssemblyStack {
    const s = this.stacks.get(id);
    if (!s) throw new RehearsalError(`the cloud assembly ${this.dir} has no stack ${id}; it has ${[...this.stacks.keys()].join(', ')}`);
    return s;
  }

  /** The value an export name stands for, from the stack that exports it. */
  exportOf(name: string): { readonly stack: AssemblyStack; readonly value: unknown } {
    for (const stack of this.stacks.values()) {
      for (const out of Object.values(stack.outputs)) if (out.Export?.Name === name) return { stack, value: out.Value };
    }
    throw new RehearsalError(`no stack of the cloud assembly ${this.dir} exports '${name}' (Fn::ImportValue); synthesize every stack together with 'npx cdk synth'`);
  }
}
