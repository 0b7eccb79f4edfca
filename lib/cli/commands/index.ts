import type { Command } from 'commander';
import { registerCheck } from './check';
import { registerAudit } from './audit';
import { registerBake } from './bake';
import { registerBuildspec } from './buildspec';
import { registerCiDatabase } from './ci-database';
import { registerConfig } from './config';
import { registerCost } from './cost';
import { registerDeploy } from './deploy';
import { registerDora } from './dora';
import { registerGates } from './gates';
import { registerGraph } from './graph';
import { registerImpact } from './impact';
import { registerPackage } from './package';
import { registerRehearse } from './rehearse';
import { registerRollback } from './rollback';
import { registerStatus } from './status';
import { registerValidate } from './validate';
import { registerVerify } from './verify';

/** Each command module adds its command to the program. Keep the list sorted. */
export const COMMANDS: ReadonlyArray<(program: Command) => void> = [registerAudit, registerBake, registerBuildspec, registerCheck, registerCiDatabase, registerConfig, registerCost, registerDeploy, registerDora, registerGates, registerGraph, registerImpact, registerPackage, registerRehearse, registerRollback, registerStatus, registerValidate, registerVerify];
