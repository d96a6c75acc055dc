// Process entry of the `sgrestore` command (bin/sgrestore.js runs the compiled copy; tests run this file directly).
import { main } from './main.ts';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`sgrestore: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
