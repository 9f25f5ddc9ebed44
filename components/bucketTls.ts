import * as pulumi from "@pulumi/pulumi";

/**
 * Bucket-policy statements that refuse any request to the bucket or its objects over plain HTTP or TLS older than
 * 1.2. Deny statements win over every Allow, so they hold whatever IAM grants. Use in every bucket policy.
 */
export function tlsOnlyStatements(bucketArn: pulumi.Input<string>): Record<string, unknown>[] {
    const resources = [bucketArn, pulumi.interpolate`${bucketArn}/*`];
    return [
        {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: resources,
            Condition: { Bool: { "aws:SecureTransport": "false" } },
        },
        {
            Sid: "DenyTlsBelow12",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: resources,
            Condition: { NumericLessThan: { "s3:TlsVersion": "1.2" } },
        },
    ];
}
