/**
 * The Pulumi mock monitor every offline run of the program uses (the tests, through mocha's `--require test/setup.ts`,
 * and the tools under tools/). Importing this module installs it once per process; it must happen before the program
 * (`index.ts`) is loaded, or nothing is registered.
 */
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { PROJECT } from "../../config/reader";
import { RecordingMocks } from "./mocks";

export const mocks = new RecordingMocks();

// The mock monitor hands newResource only type, name and inputs. Resource options (protect, parent, dependsOn,
// ignoreChanges) and which resources each input came from matter to the policy pack and to the tests, so copy them
// from the request as it passes.
type RegisterRequest = {
    getType(): string;
    getName(): string;
    getParent(): string;
    getProtect(): boolean | undefined;
    getDependenciesList(): string[];
    getIgnorechangesList(): string[];
    getDeletebeforereplace(): boolean;
    getRetainondelete(): boolean | undefined;
    getCustomtimeouts(): { getCreate(): string; getUpdate(): string; getDelete(): string } | undefined;
    getAliasesList(): unknown[];
    getAliasurnsList(): string[];
    getPropertydependenciesMap(): { forEach(f: (value: { getUrnsList(): string[] }, key: string) => void): void };
};
const monitorProto = MockMonitor.prototype as unknown as {
    registerResource(req: RegisterRequest, cb: unknown): Promise<void>;
    newUrn(parent: string, type: string, name: string): string;
    __difyAwsRecording?: boolean;
};
if (!monitorProto.__difyAwsRecording) {
    monitorProto.__difyAwsRecording = true;
    const originalRegister = monitorProto.registerResource;
    monitorProto.registerResource = function (this: typeof monitorProto, req: RegisterRequest, cb: unknown) {
        const before = mocks.resources.length;
        // newResource runs synchronously at the start of the original call, so the entry it pushes is ours.
        const done = originalRegister.call(this, req, cb);
        const entry = mocks.resources[before];
        if (entry && entry.type === req.getType() && entry.name === req.getName()) {
            entry.parent = req.getParent();
            entry.urn = this.newUrn(req.getParent(), req.getType(), req.getName());
            entry.protect = req.getProtect() === true;
            entry.dependencies = req.getDependenciesList();
            entry.ignoreChanges = req.getIgnorechangesList();
            entry.deleteBeforeReplace = req.getDeletebeforereplace();
            entry.retainOnDelete = req.getRetainondelete() === true;
            entry.aliasCount = req.getAliasesList().length + req.getAliasurnsList().length;
            const timeouts = req.getCustomtimeouts();
            entry.customTimeouts = timeouts ? { create: timeouts.getCreate(), update: timeouts.getUpdate(), delete: timeouts.getDelete() } : undefined;
            const propertyDependencies: Record<string, string[]> = {};
            req.getPropertydependenciesMap().forEach((value, key) => {
                propertyDependencies[key] = value.getUrnsList();
            });
            entry.propertyDependencies = propertyDependencies;
        }
        return done;
    };
}

pulumi.runtime.setMocks(mocks, PROJECT, "dev", false);

/** Errors thrown inside `apply` surface only as unhandled rejections; the runner fails any run that has one. */
export const unhandled: unknown[] = [];
const recordUnhandled = (reason: unknown) => {
    unhandled.push(reason);
};
/**
 * Listens for unhandled rejections (again): mocha's parallel workers remove every `unhandledRejection` listener after
 * each test file (mocha/lib/nodejs/worker.js), so the runner calls this before every run.
 */
export function listenForUnhandled(): void {
    if (!process.listeners("unhandledRejection").includes(recordUnhandled)) {
        process.on("unhandledRejection", recordUnhandled);
    }
}
listenForUnhandled();
