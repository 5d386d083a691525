/** Exits once stdout and stderr are flushed: on a pipe they are asynchronous, and a bare exit cuts a large output short. */
export function exitWhenFlushed(code: number): void {
  process.exitCode = code;
  process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
}
