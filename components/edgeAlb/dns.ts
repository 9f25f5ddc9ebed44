/** The certificate (ACM, DNS-validated in the hosted zone) and the alias records of the ALB. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** An ACM certificate for the domain, validated by a DNS record in the zone; resolves once ACM has issued it. */
export function issueCertificate(name: string, parent: pulumi.Resource, domainName: string, zoneId: string): pulumi.Output<string> {
    const cert = new aws.acm.Certificate(
        `${name}-cert`,
        { domainName, validationMethod: "DNS", keyAlgorithm: "RSA_2048", tags: { Name: domainName } },
        { parent },
    );
    // A certificate for one name without SANs has exactly one validation option.
    const option = cert.domainValidationOptions.apply((o) => o[0]);
    const record = new aws.route53.Record(
        `${name}-cert-validation`,
        {
            zoneId,
            name: option.apply((o) => o.resourceRecordName!),
            type: option.apply((o) => o.resourceRecordType!),
            records: [option.apply((o) => o.resourceRecordValue!)],
            ttl: 300,
            // ACM reuses the same record for a re-issued certificate of the same name.
            allowOverwrite: true,
        },
        { parent },
    );
    const validation = new aws.acm.CertificateValidation(
        `${name}-cert`,
        { certificateArn: cert.arn, validationRecordFqdns: [record.fqdn] },
        { parent },
    );
    return validation.certificateArn;
}

export function aliasRecords(name: string, parent: pulumi.Resource, domainName: string, zoneId: string, alb: aws.lb.LoadBalancer, dualstack: boolean): void {
    for (const type of dualstack ? ["A", "AAAA"] : ["A"]) {
        new aws.route53.Record(
            `${name}-alias-${type.toLowerCase()}`,
            {
                zoneId,
                name: domainName,
                type,
                aliases: [{ name: alb.dnsName, zoneId: alb.zoneId, evaluateTargetHealth: true }],
            },
            { parent },
        );
    }
}
