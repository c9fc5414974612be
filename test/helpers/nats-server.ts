/** The launcher lives in src/launchers/ (the `dev-cluster` command uses it too). */
export * from '../../src/launchers/nats-server.js'
