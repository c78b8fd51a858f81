import 'aws-sdk-client-mock-jest';

// The handler's JSON log lines would drown the test output; tests that assert on logs capture them.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
// The SDK warns once per process that Node 20 support ends in 2027; Lambda runs Node 22.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
// Metrics go to stdout as EMF lines; tests that assert on them turn them back on and capture them.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
