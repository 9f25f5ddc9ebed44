import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** How every CloudWatch log group of the stack is kept: retention always, a customer-managed key when configured. */
export interface LogGroupSettings {
    /** Days to keep events; one of the values CloudWatch Logs accepts. */
    retentionInDays: number;
    /** ARN of the customer-managed KMS key; the log group uses AWS-owned encryption when undefined. */
    kmsKeyArn?: pulumi.Input<string>;
}

/** A log group with the stack's retention and encryption, so no log group is ever created without either. */
export function logGroup(
    resourceName: string,
    logGroupName: pulumi.Input<string>,
    settings: LogGroupSettings,
    opts: pulumi.CustomResourceOptions,
): aws.cloudwatch.LogGroup {
    return new aws.cloudwatch.LogGroup(
        resourceName,
        {
            name: logGroupName,
            retentionInDays: settings.retentionInDays,
            kmsKeyId: settings.kmsKeyArn,
        },
        opts,
    );
}
