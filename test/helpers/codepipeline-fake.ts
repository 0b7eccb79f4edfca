/**
 * The CodePipeline stand-in (job, execution and approval API) lives with the rehearsal, which drives a
 * pipeline through it; tests use the same server.
 */
export * from '../../tools/rehearsal/codepipeline-api';
