/**
 * EFS alarms for the plugin and agent workspaces (AWS/EFS, per FileSystemId): the General Purpose I/O limit, burst
 * credits where throughput is bursting, and no client connected while the role that mounts it should run (a mount
 * that failed). Plugin starts read their environments from the plugin workspace, so a throttled file system shows as
 * slow plugins while the daemon's static /health/check stays green.
 */
import * as pulumi from "@pulumi/pulumi";
import type { AlarmThresholds } from "../../config/ops";
import { AlarmScope, FOR_5_MIN, graph, header, Widget } from "./types";

export interface AlarmedFileSystem {
    /** A short key for names, e.g. `plugin-workspace`. */
    key: string;
    fileSystemId: pulumi.Input<string>;
    bursting: boolean;
}

export function fileSystemAlarms(scope: AlarmScope, fileSystems: AlarmedFileSystem[], t: AlarmThresholds, paused: boolean): Widget[] {
    const ns = "AWS/EFS";
    const io: unknown[][] = [];
    for (const fs of fileSystems) {
        const dims = { FileSystemId: fs.fileSystemId };
        scope.alarm({
            id: `efs-${fs.key}-io-limit`,
            description: `The ${fs.key} file system used more than ${t.efsIoLimitPercent} % of its I/O limit for 10 minutes: plugin starts and agent shells slow down.`,
            comparison: "GreaterThanThreshold",
            threshold: t.efsIoLimitPercent,
            window: { period: 60, of: 10, breaching: 10 },
            treatMissingData: "notBreaching",
            metric: { namespace: ns, name: "PercentIOLimit", dimensions: dims, statistic: "Maximum" },
        });
        if (fs.bursting) {
            scope.alarm({
                id: `efs-${fs.key}-burst-credits`,
                description: `The ${fs.key} file system has under ${t.efsBurstCreditGiB} GiB of burst credits: once spent, it drops to its baseline (50 KiB/s per GiB stored). Switch workspaceThroughputMode to elastic.`,
                comparison: "LessThanThreshold",
                threshold: t.efsBurstCreditGiB * 1024 ** 3,
                window: FOR_5_MIN,
                treatMissingData: "notBreaching",
                metric: { namespace: ns, name: "BurstCreditBalance", dimensions: dims, statistic: "Minimum" },
            });
        }
        // Its tasks mount it while they run: none connected means the mount fails (or, on a sleeping stack, night).
        scope.alarm({
            id: `efs-${fs.key}-no-clients`,
            description: `No client has mounted the ${fs.key} file system for 5 minutes: its tasks cannot start (a mount target, the access point or the file system policy refuses them).`,
            comparison: "LessThanThreshold",
            threshold: 1,
            window: FOR_5_MIN,
            treatMissingData: paused ? "notBreaching" : "breaching",
            metric: { namespace: ns, name: "ClientConnections", dimensions: dims, statistic: "Sum" },
        });
        io.push([ns, "PercentIOLimit", "FileSystemId", fs.fileSystemId, { stat: "Maximum", label: `${fs.key} % of I/O limit` }]);
    }
    return fileSystems.length ? [header("Shared file systems (EFS)"), graph("I/O limit used (%)", scope.region, 60, io, t.efsIoLimitPercent)] : [];
}
