/**
 * Runs `work` with console.warn silenced: @azure/functions prints "test mode" and "skipping registration"
 * warnings when its modules load outside the real host, which would only confuse someone reading `npm start`.
 */
export async function quietly<T>(work: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  const log = console.log;
  console.warn = () => {};
  console.log = () => {};
  try {
    return await work();
  } finally {
    console.warn = warn;
    console.log = log;
  }
}
