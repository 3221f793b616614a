/**
 * Where the management API listens by default. Its own module so the CLI's usage text and
 * the `provider` subcommand do not load the HTTP server (fastify, pino, prom-client: about
 * half a second of start-up) to print two constants.
 */
export const DEFAULT_API_HOST = '127.0.0.1';
export const DEFAULT_API_PORT = 9420;
