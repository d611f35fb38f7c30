import winston from 'winston';

/**
 * Structured JSON lines on stdout, named by component (gateway, operator); each request, socket
 * and reconcile gets a child of this logger.
 */
export function createLogger(level: string, component: string): winston.Logger {
  return winston.createLogger({
    level,
    format: winston.format.combine(
      winston.format.timestamp(),
      winston.format.errors({ stack: true }),
      winston.format.json(),
    ),
    defaultMeta: { component },
    transports: [new winston.transports.Console()],
  });
}

/** The message of anything thrown, for a log field. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
