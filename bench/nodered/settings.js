// Node-RED settings for floodwatch's ingest benchmark (bench/nodered.py). The port, the user
// directory and the flow file come from the command line; the flow's broker and database
// from FLOODWATCH_* environment variables referenced as ${...} in the flow files.
module.exports = {
    uiHost: "127.0.0.1",
    // Headless: no editor, but the admin HTTP API stays up for the benchmark's health check.
    disableEditor: true,
    credentialSecret: false,
    flowFilePretty: false,
    // Asynchronous message delivery, Node-RED's default, is kept on purpose: synchronous
    // delivery (runtimeSyncDelivery) measured slower here, at more CPU per reading.
    runtimeSyncDelivery: false,
    mqttReconnectTime: 1000,
    // Errors only: one log line per failed write is what the plain flow produces.
    logging: {
        console: {level: process.env.FLOODWATCH_NODERED_LOG_LEVEL || "warn", metrics: false,
                  audit: false},
    },
    diagnostics: {enabled: false},
    telemetry: {enabled: false},
    externalModules: {
        autoInstall: false,
        palette: {allowInstall: false},
        modules: {allowInstall: false},
    },
    functionExternalModules: false,
    editorTheme: {projects: {enabled: false}},
};
