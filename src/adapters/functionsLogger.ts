/**
 * A Logger over the Functions InvocationContext: one line per event, `event {json}`, through the same allow-list
 * as every other logger, so Application Insights receives nothing the allow-list does not name.
 */
import type { InvocationContext } from '@azure/functions';
import { sanitizeLogFields } from '../core/log';
import type { Logger } from '../core/ports';

export function invocationLogger(context: InvocationContext): Logger {
  return {
    log(level, event, fields) {
      const line = `${event} ${JSON.stringify({ invocationId: context.invocationId, ...sanitizeLogFields(fields) })}`;
      if (level === 'error') context.error(line);
      else if (level === 'warn') context.warn(line);
      else if (level === 'debug') context.debug(line);
      else context.info(line);
    },
  };
}
