/** A stack's validated settings without a program run: the config loader over Pulumi.yaml, the stack file and overrides. */
import * as pulumi from "@pulumi/pulumi";
import { loadSettings, StackSettings } from "../../config";
import { ConfigReader, PROJECT } from "../../config/reader";
import { Stack, stackConfig } from "./runner";

/** Loads only the settings for a stack with overrides; returns them and the keys the loader read. */
export function loadSettingsFor(stack: Stack, overrides: Record<string, unknown> = {}, secretOverrides: string[] = []): { settings: StackSettings; keysRead: Set<string> } {
    const { config, secretKeys } = stackConfig(stack, overrides);
    // Overrides named in secretOverrides arrive as `pulumi config set --secret` leaves them.
    pulumi.runtime.setAllConfig(config, [...secretKeys, ...secretOverrides.map((k) => (k.includes(":") ? k : `${PROJECT}:${k}`))]);
    const reader = new ConfigReader();
    return { settings: loadSettings(reader, stack), keysRead: reader.keysRead };
}
