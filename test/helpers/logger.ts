import winston from 'winston';

/** Tests keep their output readable; set TEST_LOG=debug to see what the code under test logs. */
export function testLogger(): winston.Logger {
  const level = process.env.TEST_LOG;
  return winston.createLogger({
    level: level ?? 'info',
    silent: !level,
    format: winston.format.json(),
    transports: [new winston.transports.Console()],
  });
}
