/** A stack's validated settings without a program run: the config loader over Pulumi.yaml, the stack file and overrides. */
import * as pulumi from "@pulumi/pulumi";
import { loadSettings, StackSettings } from "../../config";
import { ConfigReader } from "../../config/reader";
import { Stack, stackConfig } from "./runner";

/** Loads only the settings for a stack with overrides; returns them and the keys the loader read. */
export function loadSettingsFor(stack: Stack, overrides: Record<string, unknown> = {}): { settings: StackSettings; keysRead: Set<string> } {
    const { config, secretKeys } = stackConfig(stack, overrides);
    pulumi.runtime.setAllConfig(config, secretKeys);
    const reader = new ConfigReader();
    return { settings: loadSettings(reader, stack), keysRead: reader.keysRead };
}
