import winston from 'winston';

/** Structured JSON lines on stdout; each request and socket gets a child of this logger. */
export function createLogger(level: string): winston.Logger {
  return winston.createLogger({
    level,
    format: winston.format.combine(
      winston.format.timestamp(),
      winston.format.errors({ stack: true }),
      winston.format.json(),
    ),
    defaultMeta: { component: 'gateway' },
    transports: [new winston.transports.Console()],
  });
}

/** The message of anything thrown, for a log field. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
