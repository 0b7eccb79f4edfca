import type { Command } from 'commander';
import { formatOption } from '../options';

/** `dataops package`: builds one immutable release (tarball per asset kind + release manifest). */
export function registerPackage(program: Command): void {
  program
    .command('package')
    .description('build one immutable release of a data repo: a deterministic tar.gz per asset kind and release-manifest.json')
    .requiredOption('--repo <dir>', 'checked-out data repo')
    .requiredOption('--out <dir>', 'directory to write the release to (its tarballs and release-manifest.json)')
    .option('--build-id <n>', 'build number (CodeBuild: $CODEBUILD_BUILD_NUMBER)', process.env.CODEBUILD_BUILD_NUMBER ?? '0')
    .option('--sha <sha>', 'git commit sha (CodeBuild: $CODEBUILD_RESOLVED_SOURCE_VERSION)', process.env.CODEBUILD_RESOLVED_SOURCE_VERSION)
    .option('--name <repo>', 'repo name as the platform configuration knows it (default: the folder name)')
    .option('--created-at <iso>', 'creation time (default: $SOURCE_DATE_EPOCH, else the commit time)')
    .option('--spark-images <file>', 'JSON list of {job, repository, digest} the image build pushed')
    .option('--base-manifest <file>', "the environment's current dbt manifest.json; changed table/incremental models are marked for rebuild")
    .option('--allow-destroy <address...>', 'Terraform addresses this release may destroy')
    .addOption(formatOption(['text', 'json'], 'text', 'what is printed on standard output: text (a summary) or json (the release manifest)'))
    .action(async (opts: { repo: string; out: string; buildId: string; sha?: string; name?: string; createdAt?: string; sparkImages?: string; baseManifest?: string; allowDestroy?: string[]; format: string }) => {
      const { packageRelease } = require('../../runtime/release/package') as typeof import('../../runtime/release/package');
      const r = await packageRelease({
        repoDir: opts.repo,
        outDir: opts.out,
        buildId: opts.buildId,
        sha: opts.sha,
        repoName: opts.name,
        createdAt: opts.createdAt,
        sparkImagesFile: opts.sparkImages,
        baseManifestFile: opts.baseManifest,
        allowDestroy: opts.allowDestroy,
      });
      for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
      if (opts.format === 'json') {
        process.stdout.write(`${JSON.stringify(r.manifest, null, 2)}\n`);
        return;
      }
      process.stdout.write(`release ${r.manifest.repo} ${r.manifest.version}: ${r.manifest.assets.length} assets in ${r.manifest.artifacts.length} artifacts\n`);
      for (const a of r.manifest.artifacts) process.stdout.write(`  ${a.file}  ${a.bytes} bytes  sha256 ${a.sha256}\n`);
      process.stdout.write(`  ${r.manifestPath}  sha256 ${r.manifestSha256}\n`);
    });
}
