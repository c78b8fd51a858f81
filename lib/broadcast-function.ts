import { cpSync, existsSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { DockerImage, Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Architecture, Code, Function as LambdaFunction, FunctionProps, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { HANDLER_BUNDLE } from '../lambda/contract/bundle';
import { HANDLER_TIMEOUT_SECONDS } from '../lambda/contract/limits';
import { lambdaEnvironmentProblem } from './deploy-limits';

export interface BroadcastFunctionProps {
  readonly memorySize: number;
  readonly reservedConcurrency?: number;
  readonly logRetention: RetentionDays;
  readonly environment: Record<string, string>;
  /**
   * Files written beside the bundle, by name: settings too large for Lambda's 4 KB environment
   * (the handler reads them at cold start).
   * @default none
   */
  readonly filesBesideBundle?: Readonly<Record<string, string>>;
}

/** Carries `filesBesideBundle` to the bundling commands (an environment variable has room; a command line may not). */
const FILES_VARIABLE = 'BROADCAST_FILES_BESIDE_BUNDLE';

/** This repository's root, when the construct runs from its sources (lib/ → ..). */
const SOURCE_ROOT = path.join(__dirname, '..');
/**
 * The pre-built handler a package ships (`npm run build` writes it to dist/handler, beside
 * dist/lib): used when present, so apps that install the package need neither esbuild nor the sources.
 */
export const PREBUILT_HANDLER_DIR = path.join(__dirname, '..', 'handler');

/**
 * The shared handler's function, with every default set in one place: Node.js 22 on arm64
 * (about 20% cheaper than x86_64), one minified file with the AWS SDK inside (faster cold starts
 * than loading the runtime's copy), source maps on, and the SDK's credential chain replaced by the
 * environment's credentials (`contract/bundle.ts`). From the sources it is bundled by the local
 * esbuild at synth; from the package, the bundle it ships is the asset. Either way the console's
 * files and `filesBesideBundle` go beside the bundle, and synth fails if the environment could
 * exceed Lambda's 4 KB once its references are filled in.
 *
 * @example
 * const fn = createBroadcastFunction(this, 'Handler', { memorySize: 512, logRetention: RetentionDays.ONE_MONTH, environment: {} });
 */
export function createBroadcastFunction(scope: Construct, id: string, props: BroadcastFunctionProps): LambdaFunction {
  const logGroup = new LogGroup(scope, `${id}Logs`, { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
  const common: Omit<FunctionProps, 'code' | 'handler'> = {
    runtime: Runtime.NODEJS_22_X,
    architecture: Architecture.ARM_64,
    memorySize: props.memorySize,
    reservedConcurrentExecutions: props.reservedConcurrency,
    timeout: Duration.seconds(HANDLER_TIMEOUT_SECONDS),
    logGroup,
    environment: props.environment,
  };
  const files = props.filesBesideBundle ?? {};
  const fn = existsSync(path.join(PREBUILT_HANDLER_DIR, 'index.js'))
    ? new LambdaFunction(scope, id, { ...common, code: prebuiltCode(files), handler: 'index.handler' })
    : new NodejsFunction(scope, id, {
        ...common,
        entry: path.join(SOURCE_ROOT, HANDLER_BUNDLE.entry),
        handler: 'handler',
        projectRoot: SOURCE_ROOT,
        depsLockFilePath: path.join(SOURCE_ROOT, 'package-lock.json'),
        bundling: {
          minify: true,
          sourceMap: true,
          target: HANDLER_BUNDLE.target,
          format: OutputFormat.CJS,
          mainFields: [...HANDLER_BUNDLE.mainFields],
          esbuildArgs: {
            '--alias': Object.entries(HANDLER_BUNDLE.alias).map(([module, file]) => `${module}=${path.join(SOURCE_ROOT, file)}`),
          },
          externalModules: [],
          forceDockerBundling: false,
          environment: { [FILES_VARIABLE]: JSON.stringify(files) },
          // The console's page and script travel beside the bundle (read on first request, not at init),
          // and so do the files (the asset's hash covers them: a change redeploys the function).
          commandHooks: {
            beforeBundling: () => [],
            beforeInstall: () => [],
            afterBundling: (inputDir: string, outputDir: string) => [
              `node -e "require('fs').cpSync(process.argv[1], process.argv[2], { recursive: true })" "${path.join(inputDir, 'console')}" "${path.join(outputDir, 'console')}"`,
              `node -e "for (const [name, text] of Object.entries(JSON.parse(process.env.${FILES_VARIABLE}))) require('fs').writeFileSync(require('path').join(process.argv[1], name), text)" "${outputDir}"`,
            ],
          },
        },
      });
  const environment = props.environment;
  fn.node.addValidation({
    validate: () => [lambdaEnvironmentProblem(fn, environment)].filter((problem): problem is string => problem !== undefined),
  });
  return fn;
}

/** The shipped bundle, copied with the files beside it (bundled locally: a copy and a write, no Docker). */
function prebuiltCode(files: Readonly<Record<string, string>>): Code {
  return Code.fromAsset(PREBUILT_HANDLER_DIR, {
    bundling: {
      // Never pulled: local bundling always succeeds.
      image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:22-slim'),
      local: {
        tryBundle(outputDir: string): boolean {
          cpSync(PREBUILT_HANDLER_DIR, outputDir, { recursive: true });
          for (const [name, text] of Object.entries(files)) writeFileSync(path.join(outputDir, name), text);
          return true;
        },
      },
    },
  });
}
