/**
 * Installed once by mocha (`--require test/setup.ts`), before any spec imports the program: the offline runner's mock
 * monitor must be in place before `index.ts` is loaded, or nothing is registered.
 */
export { mocks, unhandled } from "../tools/offline/monitor";
