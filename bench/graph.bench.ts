/**
 * graph_5000_models_ms / graph_5000_models_peak_mb: build the graph and run every check on a
 * generated 5,000-model dbt manifest plus 500 generated DAG files. Targets: < 2,000 ms, < 512 MB.
 *
 * Also reported: graph_5000_models_cpu_ms, the Node process's CPU time for the same work, which
 * does not depend on how busy the machine is.
 *
 * The work runs in a fresh child process (so earlier benches do not inflate its memory); the time
 * covers reading both repos (manifest validation, the Airflow ast helper), building the graph and
 * running all checks, after module loading. Peak memory is the child's peak RSS (getrusage
 * maxRSS) plus the Python helper's own peak RSS, measured on the same files: an upper bound,
 * since the helper runs while Node holds its memory.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { BenchResult } from './run';

const MODELS = 5000;
const DAGS = 500;

async function child(root: string): Promise<void> {
  const { loadGraph, runChecksOn } = await import('../lib/checks/graph');
  const repos = [path.join(root, 'big-dbt'), path.join(root, 'big-airflow')];
  const start = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const loaded = await loadGraph({ repos });
  const findings = await runChecksOn(loaded, {});
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const errors = findings.filter((f) => f.severity === 'error').length;
  process.stdout.write(`${JSON.stringify({ ms, cpuMs, maxRssKb: process.resourceUsage().maxRSS, nodes: loaded.graph.nodes.size, edges: loaded.graph.edges.length, findings: findings.length, errors })}\n`);
}

function pythonHelperPeakKb(root: string): number {
  const afRoot = path.join(root, 'big-airflow');
  const files = fs.readdirSync(path.join(afRoot, 'dags')).map((f) => `dags/${f}`);
  const helper = path.resolve(__dirname, '..', 'buildspecs', 'helpers', 'airflow_inventory.py');
  const wrapper =
    'import resource, subprocess, sys\n' +
    'subprocess.run([sys.executable, "-S", sys.argv[1], "--root", sys.argv[2]], input=sys.stdin.buffer.read(), stdout=subprocess.DEVNULL, check=True)\n' +
    'print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n';
  const r = spawnSync(process.env.DATAOPS_PYTHON ?? 'python3', ['-c', wrapper, helper, afRoot], { input: files.join('\n'), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`measuring the airflow helper failed: ${r.stderr}`);
  return Number(r.stdout.trim());
}

export async function run(): Promise<BenchResult[]> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-bench-graph-'));
  try {
    const { writeBigFixture } = await import('../test/checks/graph/big-fixture');
    writeBigFixture(root, { models: MODELS, dags: DAGS });
    const tsxCli = require.resolve('tsx/cli');
    const r = spawnSync(process.execPath, [tsxCli, __filename], { env: { ...process.env, DATAOPS_BENCH_GRAPH_CHILD: root }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`graph bench child failed (exit ${r.status}): ${r.stderr.slice(-3000)}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { ms: number; cpuMs: number; maxRssKb: number; nodes: number; edges: number; findings: number; errors: number };
    if (out.errors > 0) throw new Error(`the generated repos should have no errors, got ${out.errors}`);
    const peakMb = (out.maxRssKb + pythonHelperPeakKb(root)) / 1024;
    process.stderr.write(
      `graph bench: ${out.nodes} nodes, ${out.edges} edges, ${out.findings} findings (0 errors); load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores\n`,
    );
    return [
      { name: 'graph_5000_models_ms', value: Math.round(out.ms), unit: 'ms' },
      { name: 'graph_5000_models_peak_mb', value: Math.round(peakMb), unit: 'MB' },
      // CPU time of the Node process (the Python helper runs beside it in parallel): the cost
      // without contention from other processes on the machine.
      { name: 'graph_5000_models_cpu_ms', value: Math.round(out.cpuMs), unit: 'ms' },
    ];
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

if (process.env.DATAOPS_BENCH_GRAPH_CHILD && require.main === module) {
  void child(process.env.DATAOPS_BENCH_GRAPH_CHILD);
}
