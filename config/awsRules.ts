/**
 * What AWS accepts in the strings this program sends: names, descriptions, tags and other free text, per resource
 * type and input. Each rule is a fact taken from AWS's service model (the Smithy models of aws/api-models-aws, the same
 * shapes as botocore's `service-2.json`) or, where the model says nothing, from the API reference or user guide, cited
 * on the rule. The provider often checks only the length, so a value outside these rules passes `pulumi preview` and
 * fails `pulumi up` at the API call. test/awsAcceptance.test.ts holds every registered resource to them, and the config
 * loaders use them on what users type.
 */
import * as pulumi from "@pulumi/pulumi";

/**
 * Where two equal values collide. "account", "account-region" and "global" span the whole stack (and "account" and
 * "global" span stacks that share an account); the others are keyed by the resource's own inputs (see UNIQUE_SCOPES).
 */
export type UniqueScope =
    | "vpc"
    | "account-region"
    | "account"
    | "global"
    | "load-balancer"
    | "web-acl"
    | "resource"
    | "cluster"
    | "role"
    | "scalable-target"
    | "hosted-zone"
    | "namespace";

/** One AWS constraint on one string. */
export interface AwsStringRule {
    /** The API parameter, as AWS names it (e.g. `CreateSecurityGroup GroupDescription`). */
    parameter: string;
    minLength?: number;
    maxLength?: number;
    /** Every character must match this one-character class. */
    chars?: RegExp;
    /** The whole value must match (anchored): structure beyond the characters (first character, no `--`, ...). */
    pattern?: RegExp;
    /** The allowed characters in AWS's own words, for messages. */
    allowed: string;
    /** Where two equal values collide, e.g. "per VPC" or "per account and region"; undefined when values may repeat. */
    uniqueIn?: UniqueScope;
    /** AWS compares (or stores, lowercased) these values without regard to case, so `A` and `a` collide. */
    caseInsensitive?: boolean;
    /** The model shape or documentation page the rule comes from. */
    source: string;
}

/** The reasons a value breaks a rule; empty when AWS accepts it. */
export function ruleViolations(rule: AwsStringRule, value: string): string[] {
    const out: string[] = [];
    // AWS counts characters (UTF-16 code units in the SDKs' length checks); every value here is ASCII anyway.
    if (rule.minLength !== undefined && value.length < rule.minLength) {
        out.push(`shorter than ${rule.minLength} characters`);
    }
    if (rule.maxLength !== undefined && value.length > rule.maxLength) {
        out.push(`longer than ${rule.maxLength} characters (${value.length})`);
    }
    const bad = rule.chars ? [...new Set([...value].filter((c) => !rule.chars!.test(c)))] : [];
    if (bad.length > 0) {
        out.push(`has characters outside ${rule.allowed}: ${bad.map((c) => JSON.stringify(c)).join(" ")}`);
    }
    if (rule.pattern && !rule.pattern.test(value)) {
        out.push(`does not have the form ${rule.allowed}`);
    }
    return out;
}

/** The same constraint on a value that only names something declared elsewhere (so it is not a new, unique name). */
function reference(rule: AwsStringRule, parameter: string): AwsStringRule {
    const { uniqueIn: _unique, caseInsensitive: _case, ...rest } = rule;
    return { ...rest, parameter };
}

/** The Smithy models the rules cite (aws/api-models-aws, snapshot of 2025-04-02); `<service>/<file>#<Shape>$<member>`. */
const MODELS = "aws/api-models-aws@56c8953e";
/** The EC2 model (not in that snapshot: over 4 MiB): Debian python3-botocore 1.29.27. */
const EC2_MODEL = "botocore 1.29.27 data/ec2/2016-11-15/service-2.json";

// --- Tags (every service) ------------------------------------------------------------------------------------------

const TAG_TEXT = "letters, numbers and spaces representable in UTF-8, and _ . : / = + - @";
/** The character set common to the services' TagKey/TagValue shapes (`^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`). */
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]$/u;
const TAGGING_GUIDE = "https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html (tag naming limits and requirements)";
const TAG_MODELS =
    `${MODELS} TagKey/TagValue of elastic-load-balancing-v2, cloudwatch-logs, efs, wafv2, acm, iam, cloudwatch (^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$)`;
/** Not `aws:` in any case: the prefix is reserved for AWS's own tags. */
const NOT_AWS_PREFIX = /^(?![aA][wW][sS]:)[\s\S]*$/;

/** Tag keys, wherever a service takes tags: 1-128 characters of the common set, not starting with `aws:`. */
export const TAG_KEY: AwsStringRule = {
    parameter: "Tag.Key",
    minLength: 1,
    maxLength: 128,
    chars: TAG_CHARS,
    pattern: NOT_AWS_PREFIX,
    allowed: `${TAG_TEXT}; not starting with aws:`,
    source: `${TAGGING_GUIDE}; ${TAG_MODELS}`,
};

/** Tag values: 0-256 characters of the common set. */
export const TAG_VALUE: AwsStringRule = {
    parameter: "Tag.Value",
    minLength: 0,
    maxLength: 256,
    chars: TAG_CHARS,
    allowed: TAG_TEXT,
    source: `${TAGGING_GUIDE}; ${TAG_MODELS}`,
};

/** EC2 tag keys: the API reference allows 127 characters (the guides say 128); the common set is kept. */
export const EC2_TAG_KEY: AwsStringRule = {
    ...TAG_KEY,
    parameter: "CreateTags / TagSpecifications Tags.N.Key",
    maxLength: 127,
    source: `https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Tag.html ("a maximum of 127 Unicode characters. May not begin with aws:"); ${EC2_MODEL}#Tag$Key; https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_Tags.html#tag-restrictions; ${TAGGING_GUIDE}`,
};

export const EC2_TAG_VALUE: AwsStringRule = {
    ...TAG_VALUE,
    parameter: "CreateTags / TagSpecifications Tags.N.Value",
    source: `https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Tag.html; ${EC2_MODEL}#Tag$Value; ${TAGGING_GUIDE}`,
};

/** RDS tags: the common set, and neither `aws:` nor `rds:` may start a key or a value. */
const NOT_AWS_OR_RDS_PREFIX = /^(?![aA][wW][sS]:|[rR][dD][sS]:)[\s\S]*$/;
export const RDS_TAG_KEY: AwsStringRule = {
    ...TAG_KEY,
    parameter: "RDS Tag.Key",
    pattern: NOT_AWS_OR_RDS_PREFIX,
    allowed: `${TAG_TEXT}; not starting with aws: or rds:`,
    source: `https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_Tag.html; ${MODELS} rds/service/2014-10-31/rds-2014-10-31.json#Tag$Key`,
};

export const RDS_TAG_VALUE: AwsStringRule = {
    ...TAG_VALUE,
    parameter: "RDS Tag.Value",
    pattern: NOT_AWS_OR_RDS_PREFIX,
    allowed: `${TAG_TEXT}; not starting with aws: or rds:`,
    source: `https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_Tag.html; ${MODELS} rds/service/2014-10-31/rds-2014-10-31.json#Tag$Value`,
};

/** ECS tags: ECS reserves `aws:` for values as well as keys. */
export const ECS_TAG_KEY: AwsStringRule = {
    ...TAG_KEY,
    parameter: "ECS tags.N.key",
    source: `https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Tag.html; ${MODELS} ecs/service/2014-11-13/ecs-2014-11-13.json#TagKey`,
};

export const ECS_TAG_VALUE: AwsStringRule = {
    ...TAG_VALUE,
    parameter: "ECS tags.N.value",
    pattern: NOT_AWS_PREFIX,
    allowed: `${TAG_TEXT}; not starting with aws:`,
    source: `https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Tag.html ("Do not use aws: ... as a prefix for either keys or values"); ${MODELS} ecs/service/2014-11-13/ecs-2014-11-13.json#TagValue`,
};

/** The two INPUT_RULES entries for a `tags` map: its keys and its values. */
function tags(key: AwsStringRule, value: AwsStringRule): Record<string, AwsStringRule> {
    return { "tags{}": key, "tags.*": value };
}

// --- EC2 ---------------------------------------------------------------------------------------------------------

const EC2_SG_TEXT = "a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*";
const EC2_SG_CHARS = /^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]$/;

/**
 * Security group descriptions. The EC2 model types GroupDescription as a plain string; the character set is in the
 * API reference only ("Constraints for EC2-VPC: a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*").
 */
export const EC2_SECURITY_GROUP_DESCRIPTION: AwsStringRule = {
    parameter: "CreateSecurityGroup GroupDescription",
    minLength: 1,
    maxLength: 255,
    chars: EC2_SG_CHARS,
    allowed: EC2_SG_TEXT,
    source: "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html",
};

/** Security group names (when the program sets one; otherwise Pulumi auto-names it): not `sg-...`, unique per VPC. */
export const EC2_SECURITY_GROUP_NAME: AwsStringRule = {
    parameter: "CreateSecurityGroup GroupName",
    minLength: 1,
    maxLength: 255,
    chars: EC2_SG_CHARS,
    pattern: /^(?!sg-)[\s\S]*$/,
    allowed: `${EC2_SG_TEXT}; not starting with sg-`,
    uniqueIn: "vpc",
    source: `https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html; ${EC2_MODEL}#CreateSecurityGroupRequest$GroupName`,
};

/**
 * Security group rule descriptions. A rule's description goes out as IpRanges/Ipv6Ranges.Description (a CIDR rule) or
 * PrefixListIds/UserIdGroupPairs.Description (a prefix-list or security-group rule); the latter two list the same set
 * without `&`, so a description meets both and stays valid whichever kind of rule reuses it.
 */
export const EC2_SECURITY_GROUP_RULE_DESCRIPTION: AwsStringRule = {
    parameter: "AuthorizeSecurityGroupIngress/Egress IpPermissions.*.Description",
    maxLength: 255,
    chars: /^[a-zA-Z0-9 ._\-:/()#,@[\]+=;{}!$*]$/,
    allowed: "a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=;{}!$* (no &: prefix-list and security-group rules refuse it)",
    source: `https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IpRange.html; https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_PrefixListId.html; https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_UserIdGroupPair.html; ${EC2_MODEL}#IpRange$Description, #PrefixListId$Description, #UserIdGroupPair$Description`,
};

// --- Elastic Load Balancing v2 -----------------------------------------------------------------------------------

/**
 * ALB listener rule quotas (Elastic Load Balancing, "Quotas for your Application Load Balancers", and "Condition types
 * for listener rules": "You can specify up to three match evaluations per condition and up to five match evaluations
 * per rule"). Rules count per load balancer, across its listeners.
 */
export const ALB_RULE_LIMITS = {
    valuesPerCondition: 3,
    valuesPerRule: 5,
    wildcardsPerRule: 5,
    rulesPerLoadBalancer: 100,
    /** Characters of one path-pattern value or regex (PathPatternConditionConfig). */
    valueLength: 128,
    priority: { min: 1, max: 50000 },
    targetGroupsPerForward: 5,
    source: "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html, https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html",
} as const;

const ELB_MODEL = `${MODELS} elastic-load-balancing-v2/service/2015-12-01/elastic-load-balancing-v2-2015-12-01.json`;
const ELB_NAME_CHARS = /^[A-Za-z0-9-]$/;

/** Load balancer names: "a maximum of 32 characters, only alphanumeric characters or hyphens, must not begin or end with a hyphen, and must not begin with internal-". */
export const ELB_LOAD_BALANCER_NAME: AwsStringRule = {
    parameter: "CreateLoadBalancer Name",
    minLength: 1,
    maxLength: 32,
    chars: ELB_NAME_CHARS,
    pattern: /^(?!internal-)(?!-)[\s\S]*(?<!-)$/,
    allowed: "alphanumerics and hyphens, not starting or ending with a hyphen, not starting with internal-",
    uniqueIn: "account-region",
    source: `https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html; ${ELB_MODEL}#CreateLoadBalancerInput$Name`,
};

/** Target group names: as load balancer names, without the `internal-` clause. */
export const ELB_TARGET_GROUP_NAME: AwsStringRule = {
    parameter: "CreateTargetGroup Name",
    minLength: 1,
    maxLength: 32,
    chars: ELB_NAME_CHARS,
    pattern: /^(?!-)[\s\S]*(?<!-)$/,
    allowed: "alphanumerics and hyphens, not starting or ending with a hyphen",
    uniqueIn: "account-region",
    source: `https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html; ${ELB_MODEL}#CreateTargetGroupInput$Name`,
};

export const ELB_HEALTH_CHECK_PATH: AwsStringRule = {
    parameter: "CreateTargetGroup HealthCheckPath",
    minLength: 1,
    maxLength: 1024,
    pattern: /^\/[\s\S]*$/,
    allowed: "a path starting with /",
    source: `https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html; ${ELB_MODEL}#Path`,
};

/** Path-pattern condition values: "A-Z, a-z, 0-9; _ - . $ / ~ \" ' @ : +; & (using &amp;); * ; ?", up to 128 each. */
export const ELB_PATH_PATTERN_VALUE: AwsStringRule = {
    parameter: "CreateRule Conditions.PathPatternConfig.Values",
    minLength: 1,
    maxLength: ALB_RULE_LIMITS.valueLength,
    chars: /^[A-Za-z0-9_\-.$/~"'@:+&*?]$/,
    allowed: "A-Z, a-z, 0-9, _ - . $ / ~ \" ' @ : + & * ?",
    source: `https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_PathPatternConditionConfig.html; ${ELB_MODEL}#PathPatternConditionConfig$Values`,
};

export const ELB_HOST_HEADER_VALUE: AwsStringRule = {
    parameter: "CreateRule Conditions.HostHeaderConfig.Values",
    minLength: 1,
    maxLength: 128,
    chars: /^[A-Za-z0-9\-.*?]$/,
    allowed: "A-Z, a-z, 0-9, - . * ?",
    source: `https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_HostHeaderConditionConfig.html; ${ELB_MODEL}#HostHeaderConditionConfig$Values`,
};

export const ELB_FIXED_RESPONSE_MESSAGE: AwsStringRule = {
    parameter: "Action FixedResponseConfig.MessageBody",
    minLength: 0,
    maxLength: 1024,
    allowed: "up to 1024 characters",
    source: `https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_FixedResponseActionConfig.html; ${ELB_MODEL}#FixedResponseActionMessage`,
};

// --- CloudWatch (alarms, dashboards) -----------------------------------------------------------------------------

const CW_MODEL = `${MODELS} cloudwatch/service/2010-08-01/cloudwatch-2010-08-01.json`;

/** Alarm names: 1-255 UTF-8 characters without ASCII control characters, unique in the region (a second PutMetricAlarm silently replaces the first). */
export const CW_ALARM_NAME: AwsStringRule = {
    parameter: "PutMetricAlarm AlarmName",
    minLength: 1,
    maxLength: 255,
    chars: /^[^\u0000-\u001F\u007F]$/u,
    allowed: "UTF-8 characters except ASCII control characters",
    uniqueIn: "account-region",
    source: `https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html; ${CW_MODEL}#PutMetricAlarmInput$AlarmName`,
};

export const CW_ALARM_DESCRIPTION: AwsStringRule = {
    parameter: "PutMetricAlarm AlarmDescription",
    minLength: 0,
    maxLength: 1024,
    allowed: "up to 1024 characters",
    source: `https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html; ${CW_MODEL}#AlarmDescription`,
};

export const CW_METRIC_NAME: AwsStringRule = {
    parameter: "PutMetricAlarm MetricName / Metric.MetricName",
    minLength: 1,
    maxLength: 255,
    allowed: "1-255 characters",
    source: `https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_Metric.html; ${CW_MODEL}#MetricName`,
};

export const CW_NAMESPACE: AwsStringRule = {
    parameter: "PutMetricAlarm Namespace / Metric.Namespace",
    minLength: 1,
    maxLength: 255,
    pattern: /^[^:][\s\S]*$/,
    allowed: "1-255 characters, not starting with :",
    source: `https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_Metric.html; ${CW_MODEL}#Namespace (pattern ^[^:])`,
};

/** Dimension names: "only ASCII characters, at least one non-whitespace character, cannot start with a colon"; no control characters. */
export const CW_DIMENSION_NAME: AwsStringRule = {
    parameter: "Dimension.Name",
    minLength: 1,
    maxLength: 255,
    chars: /^[\x20-\x7E]$/,
    pattern: /^(?!:)(?=[\s\S]*\S)[\s\S]*$/,
    allowed: "printable ASCII, at least one non-space, not starting with :",
    source: `https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_Dimension.html; ${CW_MODEL}#Dimension$Name`,
};

export const CW_DIMENSION_VALUE: AwsStringRule = {
    parameter: "Dimension.Value",
    minLength: 1,
    maxLength: 1024,
    chars: /^[\x20-\x7E]$/,
    pattern: /^(?=[\s\S]*\S)[\s\S]*$/,
    allowed: "printable ASCII, at least one non-space",
    source: `https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_Dimension.html; ${CW_MODEL}#Dimension$Value`,
};

/** Metric query ids: "letters, numbers, and underscore. The first character must be a lowercase letter"; unique in the alarm. */
export const CW_METRIC_QUERY_ID: AwsStringRule = {
    parameter: "MetricDataQuery.Id",
    minLength: 1,
    maxLength: 255,
    chars: /^[A-Za-z0-9_]$/,
    pattern: /^[a-z][\s\S]*$/,
    allowed: "letters, numbers and underscores, starting with a lowercase letter",
    uniqueIn: "resource",
    source: `https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDataQuery.html; ${CW_MODEL}#MetricDataQuery$Id`,
};

export const CW_METRIC_EXPRESSION: AwsStringRule = {
    parameter: "MetricDataQuery.Expression",
    minLength: 1,
    maxLength: 2048,
    allowed: "1-2048 characters",
    source: `https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDataQuery.html; ${CW_MODEL}#MetricExpression`,
};

/** Dashboard names: "The maximum length is 255, and valid characters are A-Z, a-z, 0-9, - and _"; dashboards are global to the account. */
export const CW_DASHBOARD_NAME: AwsStringRule = {
    parameter: "PutDashboard DashboardName",
    minLength: 1,
    maxLength: 255,
    chars: /^[A-Za-z0-9_-]$/,
    allowed: "A-Z, a-z, 0-9, - and _",
    uniqueIn: "account",
    source: `https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html; ${CW_MODEL}#PutDashboardInput$DashboardName`,
};

// --- CloudWatch Logs ---------------------------------------------------------------------------------------------

/** Log group names: `[.\-_/#A-Za-z0-9]+`, 1-512, "can't start with aws/". */
export const LOGS_LOG_GROUP_NAME: AwsStringRule = {
    parameter: "CreateLogGroup logGroupName",
    minLength: 1,
    maxLength: 512,
    chars: /^[.\-_/#A-Za-z0-9]$/,
    pattern: /^(?!aws\/)[\s\S]*$/,
    allowed: "a-z, A-Z, 0-9, _ - / . #; not starting with aws/",
    uniqueIn: "account-region",
    source: `https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html; ${MODELS} cloudwatch-logs/service/2014-03-28/cloudwatch-logs-2014-03-28.json#LogGroupName`,
};

// --- EventBridge -------------------------------------------------------------------------------------------------

const EVENTS_MODEL = `${MODELS} eventbridge/service/2015-10-07/eventbridge-2015-10-07.json`;

export const EVENTS_RULE_NAME: AwsStringRule = {
    parameter: "PutRule Name",
    minLength: 1,
    maxLength: 64,
    chars: /^[.\-_A-Za-z0-9]$/,
    allowed: "A-Z, a-z, 0-9, . - _",
    uniqueIn: "account-region",
    source: `https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html; ${EVENTS_MODEL}#RuleName`,
};

export const EVENTS_RULE_DESCRIPTION: AwsStringRule = {
    parameter: "PutRule Description",
    minLength: 0,
    maxLength: 512,
    allowed: "up to 512 characters",
    source: `https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html; ${EVENTS_MODEL}#RuleDescription`,
};

export const EVENTS_EVENT_PATTERN: AwsStringRule = {
    parameter: "PutRule EventPattern",
    minLength: 0,
    maxLength: 4096,
    allowed: "up to 4096 characters",
    source: `https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html; ${EVENTS_MODEL}#EventPattern`,
};

// --- IAM ---------------------------------------------------------------------------------------------------------

const IAM_MODEL = `${MODELS} iam/service/2010-05-08/iam-2010-05-08.json`;
const IAM_NAME_CHARS = /^[\w+=,.@-]$/;

/** Role names: `[\w+=,.@-]+`, 1-64, unique in the account regardless of case. */
export const IAM_ROLE_NAME: AwsStringRule = {
    parameter: "CreateRole RoleName",
    minLength: 1,
    maxLength: 64,
    chars: IAM_NAME_CHARS,
    allowed: "alphanumerics and _+=,.@-",
    uniqueIn: "account",
    caseInsensitive: true,
    source: `https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html; ${IAM_MODEL}#roleNameType`,
};

/** Role paths: `/` alone, or `/.../` of printable ASCII (the model's alternation is unanchored; this is its intended form). */
export const IAM_PATH: AwsStringRule = {
    parameter: "CreateRole Path",
    minLength: 1,
    maxLength: 512,
    pattern: /^(?:\/|\/[\x21-\x7E]+\/)$/,
    allowed: "/ alone, or printable ASCII between a leading and a trailing /",
    source: `https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html; ${IAM_MODEL}#pathType`,
};

/** Role descriptions: tab, LF, CR, printable ASCII and Latin-1 U+00A1-U+00FF only (no em dash, curly quotes or emoji). */
export const IAM_ROLE_DESCRIPTION: AwsStringRule = {
    parameter: "CreateRole Description",
    minLength: 0,
    maxLength: 1000,
    chars: /^[\t\n\r\x20-\x7E\xA1-\xFF]$/,
    allowed: "printable ASCII, tab, line breaks and Latin-1 characters U+00A1-U+00FF",
    source: `https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html; ${IAM_MODEL}#roleDescriptionType`,
};

/** Inline policy names: `[\w+=,.@-]+`, 1-128, unique per role. */
export const IAM_POLICY_NAME: AwsStringRule = {
    parameter: "PutRolePolicy PolicyName",
    minLength: 1,
    maxLength: 128,
    chars: IAM_NAME_CHARS,
    allowed: "alphanumerics and _+=,.@-",
    uniqueIn: "role",
    source: `https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutRolePolicy.html; ${IAM_MODEL}#policyNameType`,
};

/** Policy documents (trust and inline): tab, LF, CR and U+0020-U+00FF, up to 131072 characters. */
export const IAM_POLICY_DOCUMENT: AwsStringRule = {
    parameter: "CreateRole AssumeRolePolicyDocument / PutRolePolicy PolicyDocument",
    minLength: 1,
    maxLength: 131072,
    chars: /^[\t\n\r\x20-\xFF]$/,
    allowed: "tab, line breaks and U+0020-U+00FF",
    source: `https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutRolePolicy.html; ${IAM_MODEL}#policyDocumentType`,
};

// --- Secrets Manager ---------------------------------------------------------------------------------------------

const SM_MODEL = `${MODELS} secrets-manager/service/2017-10-17/secrets-manager-2017-10-17.json`;
const SM_NAME_CHARS = /^[A-Za-z0-9/_+=.@-]$/;

/** Secret names: "ASCII letters, numbers, and the following characters: /_+=.@-", 1-512, unique in the region. */
export const SM_SECRET_NAME: AwsStringRule = {
    parameter: "CreateSecret Name",
    minLength: 1,
    maxLength: 512,
    chars: SM_NAME_CHARS,
    allowed: "ASCII letters, numbers and /_+=.@-",
    uniqueIn: "account-region",
    source: `https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html; ${SM_MODEL}#CreateSecretRequest$Name`,
};

/** A `namePrefix`: the provider appends 26 characters ([0-9a-f]), so the prefix has 512 - 26 = 486 left. */
export const SM_SECRET_NAME_PREFIX: AwsStringRule = {
    parameter: "CreateSecret Name (namePrefix + a 26-character suffix)",
    minLength: 1,
    maxLength: 512 - 26,
    chars: SM_NAME_CHARS,
    allowed: "ASCII letters, numbers and /_+=.@-",
    source: `https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html; hashicorp/terraform-plugin-sdk helper/id/id.go (UniqueIDSuffixLength = 26)`,
};

export const SM_SECRET_DESCRIPTION: AwsStringRule = {
    parameter: "CreateSecret Description",
    minLength: 0,
    maxLength: 2048,
    allowed: "up to 2048 characters",
    source: `https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html; ${SM_MODEL}#DescriptionType`,
};

// --- KMS ---------------------------------------------------------------------------------------------------------

const KMS_MODEL = `${MODELS} kms/service/2014-11-01/kms-2014-11-01.json`;

/** Alias names: `alias/` and then alphanumerics, `/`, `_`, `-` (the model also lets `:` through); `alias/aws/` is AWS's. */
export const KMS_ALIAS_NAME: AwsStringRule = {
    parameter: "CreateAlias AliasName",
    minLength: 1,
    maxLength: 256,
    chars: /^[a-zA-Z0-9:/_-]$/,
    pattern: /^alias\/(?!aws\/)[\s\S]+$/,
    allowed: "alias/ followed by alphanumerics, /, _ and -; not alias/aws/",
    uniqueIn: "account-region",
    source: `https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html; ${KMS_MODEL}#AliasNameType`,
};

export const KMS_KEY_DESCRIPTION: AwsStringRule = {
    parameter: "CreateKey Description",
    minLength: 0,
    maxLength: 8192,
    allowed: "up to 8192 characters",
    source: `https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html; ${KMS_MODEL}#DescriptionType`,
};

/** Key policies: the model's character set; the API reference caps the size at 32 kilobytes. */
export const KMS_KEY_POLICY: AwsStringRule = {
    parameter: "CreateKey Policy / PutKeyPolicy Policy",
    minLength: 1,
    maxLength: 32768,
    chars: /^[\t\n\r\x20-\xFF]$/,
    allowed: "tab, line breaks and U+0020-U+00FF, up to 32 KB",
    source: `https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html ("The key policy size quota is 32 kilobytes"); ${KMS_MODEL}#PolicyType`,
};

// --- SNS ---------------------------------------------------------------------------------------------------------

/** Topic names: "uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, 1-256"; FIFO topics end in `.fifo`. */
export const SNS_TOPIC_NAME: AwsStringRule = {
    parameter: "CreateTopic Name",
    minLength: 1,
    maxLength: 256,
    pattern: /^[A-Za-z0-9_-]+(?:\.fifo)?$/,
    allowed: "ASCII letters, numbers, _ and - (a FIFO topic ending in .fifo)",
    uniqueIn: "account-region",
    source: `https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html; ${MODELS} sns/service/2010-03-31/sns-2010-03-31.json#CreateTopicInput$Name`,
};

// --- WAFv2 -------------------------------------------------------------------------------------------------------

const WAF_MODEL = `${MODELS} wafv2/service/2019-07-29/wafv2-2019-07-29.json`;

/** Web ACL, IP set, rule and managed rule group names (EntityName): `^[\w\-]+$`, 1-128. */
export const WAF_ENTITY_NAME: AwsStringRule = {
    parameter: "CreateWebACL / CreateIPSet Name",
    minLength: 1,
    maxLength: 128,
    chars: /^[\w-]$/,
    allowed: "A-Z, a-z, 0-9, _ and -",
    uniqueIn: "account-region",
    source: `https://docs.aws.amazon.com/waf/latest/APIReference/API_CreateWebACL.html; https://docs.aws.amazon.com/waf/latest/APIReference/API_CreateIPSet.html; ${WAF_MODEL}#EntityName`,
};

export const WAF_RULE_NAME: AwsStringRule = {
    ...WAF_ENTITY_NAME,
    parameter: "WebACL Rules.N.Name",
    uniqueIn: "web-acl",
    source: `https://docs.aws.amazon.com/waf/latest/APIReference/API_Rule.html; ${WAF_MODEL}#Rule$Name`,
};

/** Descriptions (EntityDescription): `^[\w+=:#@/\-,.][\w+=:#@/\-,.\s]+[\w+=:#@/\-,.]$`, so at least 3 characters, no space at either end. */
export const WAF_DESCRIPTION: AwsStringRule = {
    parameter: "CreateWebACL / CreateIPSet Description",
    minLength: 1,
    maxLength: 256,
    chars: /^[\w+=:#@/\-,. \t\n\x0B\f\r]$/,
    pattern: /^[\w+=:#@/\-,.][\s\S]+[\w+=:#@/\-,.]$/,
    allowed: "letters, digits, _ + = : # @ / - , . and inner whitespace (at least 3 characters)",
    source: `https://docs.aws.amazon.com/waf/latest/APIReference/API_CreateWebACL.html; ${WAF_MODEL}#EntityDescription`,
};

/** CloudWatch metric names of WAF: the documentation's narrower rule ("A-Z, a-z, 0-9, - and _ ... 1-128 ... not All or Default_Action"). */
export const WAF_METRIC_NAME: AwsStringRule = {
    parameter: "VisibilityConfig MetricName",
    minLength: 1,
    maxLength: 128,
    chars: /^[A-Za-z0-9_-]$/,
    pattern: /^(?!(?:All|Default_Action)$)[\s\S]*$/,
    allowed: "A-Z, a-z, 0-9, - and _; not a name WAF reserves (All, Default_Action)",
    source: `https://docs.aws.amazon.com/waf/latest/APIReference/API_VisibilityConfig.html; ${WAF_MODEL}#VisibilityConfig$MetricName`,
};

export const WAF_VENDOR_NAME: AwsStringRule = {
    parameter: "ManagedRuleGroupStatement VendorName",
    minLength: 1,
    maxLength: 128,
    pattern: /^(?=[\s\S]*\S)[\s\S]*$/,
    allowed: "1-128 characters, at least one non-space",
    source: `https://docs.aws.amazon.com/waf/latest/APIReference/API_ManagedRuleGroupStatement.html; ${WAF_MODEL}#VendorName`,
};

export const WAF_REDACTED_HEADER_NAME: AwsStringRule = {
    parameter: "LoggingConfiguration RedactedFields.SingleHeader.Name",
    minLength: 1,
    maxLength: 64,
    pattern: /^(?=[\s\S]*\S)[\s\S]*$/,
    allowed: "1-64 characters, at least one non-space",
    source: `https://docs.aws.amazon.com/waf/latest/APIReference/API_SingleHeader.html; ${WAF_MODEL}#FieldToMatchData`,
};

/** Logging destinations: the log group, bucket or stream "must have a name that begins with aws-waf-logs-". */
export const WAF_LOG_DESTINATION: AwsStringRule = {
    parameter: "PutLoggingConfiguration LogDestinationConfigs",
    minLength: 20,
    maxLength: 2048,
    pattern: /^arn:aws[a-z-]*:(?:logs:[^:]+:\d{12}:log-group:aws-waf-logs-|s3:::aws-waf-logs-|firehose:[^:]+:\d{12}:deliverystream\/aws-waf-logs-)[\s\S]*$/,
    allowed: "the ARN of a log group, bucket or Firehose stream whose name starts with aws-waf-logs-",
    source: `https://docs.aws.amazon.com/waf/latest/APIReference/API_LoggingConfiguration.html; ${WAF_MODEL}#LoggingConfiguration`,
};

// --- ECS ---------------------------------------------------------------------------------------------------------

const ECS_MODEL = `${MODELS} ecs/service/2014-11-13/ecs-2014-11-13.json`;
const ECS_NAME_CHARS = /^[A-Za-z0-9_-]$/;
const ECS_NAME_TEXT = "letters, numbers, _ and -";

/** Cluster names: "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens". */
export const ECS_CLUSTER_NAME: AwsStringRule = {
    parameter: "CreateCluster clusterName",
    minLength: 1,
    maxLength: 255,
    chars: ECS_NAME_CHARS,
    allowed: ECS_NAME_TEXT,
    uniqueIn: "account-region",
    source: `https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateCluster.html; ${ECS_MODEL}#CreateClusterRequest$clusterName`,
};

export const ECS_SERVICE_NAME: AwsStringRule = {
    parameter: "CreateService serviceName",
    minLength: 1,
    maxLength: 255,
    chars: ECS_NAME_CHARS,
    allowed: ECS_NAME_TEXT,
    uniqueIn: "cluster",
    source: `https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html; ${ECS_MODEL}#CreateServiceRequest$serviceName`,
};

/** Task definition families: two task definitions with one family would be revisions of each other. */
export const ECS_FAMILY: AwsStringRule = {
    parameter: "RegisterTaskDefinition family",
    minLength: 1,
    maxLength: 255,
    chars: ECS_NAME_CHARS,
    allowed: ECS_NAME_TEXT,
    uniqueIn: "account-region",
    source: `https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html; ${ECS_MODEL}#RegisterTaskDefinitionRequest$family`,
};

export const ECS_CONTAINER_NAME: AwsStringRule = {
    parameter: "ContainerDefinition name",
    minLength: 1,
    maxLength: 255,
    chars: ECS_NAME_CHARS,
    allowed: ECS_NAME_TEXT,
    uniqueIn: "resource",
    source: `https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html; ${ECS_MODEL}#ContainerDefinition$name`,
};

export const ECS_VOLUME_NAME: AwsStringRule = {
    parameter: "Volume name",
    minLength: 1,
    maxLength: 255,
    chars: ECS_NAME_CHARS,
    allowed: ECS_NAME_TEXT,
    uniqueIn: "resource",
    source: `https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Volume.html; ${ECS_MODEL}#Volume$name`,
};

/** Service Connect names (port mapping name, discoveryName, portName): up to 64 of lowercase letters, digits, `_` and `-`, not starting with `-`. */
const ECS_SC_CHARS = /^[a-z0-9_-]$/;
export const ECS_PORT_MAPPING_NAME: AwsStringRule = {
    parameter: "PortMapping name",
    minLength: 1,
    maxLength: 64,
    chars: ECS_SC_CHARS,
    pattern: /^(?!-)[\s\S]*$/,
    allowed: "lowercase letters, numbers, _ and -, not starting with -",
    uniqueIn: "resource",
    source: `https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PortMapping.html; ${ECS_MODEL}#PortMapping$name`,
};

export const ECS_DISCOVERY_NAME: AwsStringRule = {
    ...ECS_PORT_MAPPING_NAME,
    parameter: "ServiceConnectService discoveryName",
    uniqueIn: "namespace",
    source: `https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceConnectService.html; ${ECS_MODEL}#ServiceConnectService$discoveryName`,
};

export const ECS_SC_PORT_NAME: AwsStringRule = reference(
    { ...ECS_PORT_MAPPING_NAME, source: `https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceConnectService.html; ${ECS_MODEL}#ServiceConnectService$portName` },
    "ServiceConnectService portName",
);

export const ECS_CLIENT_ALIAS_DNS_NAME: AwsStringRule = {
    parameter: "ServiceConnectClientAlias dnsName",
    minLength: 1,
    maxLength: 127,
    chars: /^[a-z0-9_.-]$/,
    pattern: /^(?!-)[\s\S]*$/,
    allowed: "lowercase letters, numbers, _, - and ., not starting with -",
    source: `https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceConnectClientAlias.html; ${ECS_MODEL}#ServiceConnectClientAlias$dnsName`,
};

/** Capacity providers: FARGATE, FARGATE_SPOT or a custom name not starting with aws, ecs or fargate. */
export const ECS_CAPACITY_PROVIDER: AwsStringRule = {
    parameter: "CapacityProviderStrategyItem capacityProvider",
    minLength: 1,
    maxLength: 255,
    chars: ECS_NAME_CHARS,
    pattern: /^(?:FARGATE|FARGATE_SPOT|(?![aA][wW][sS]|[eE][cC][sS]|[fF][aA][rR][gG][aA][tT][eE])[\s\S]+)$/,
    allowed: `FARGATE, FARGATE_SPOT or ${ECS_NAME_TEXT} not starting with aws, ecs or fargate`,
    source: `https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateCapacityProvider.html; ${ECS_MODEL}#CreateCapacityProviderRequest$name`,
};

// --- Application Auto Scaling ------------------------------------------------------------------------------------

const AAS_MODEL = `${MODELS} application-auto-scaling/service/2016-02-06/application-auto-scaling-2016-02-06.json`;
/** The model's XML-safe character set (`[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\r\n\t]`). */
const AAS_XML_CHARS = /^[\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}\r\n\t]$/u;

/** Scheduled action names: no `:`, `/`, `|` or control characters, no space at either end; unique on the scalable target. */
export const AAS_SCHEDULED_ACTION_NAME: AwsStringRule = {
    parameter: "PutScheduledAction ScheduledActionName",
    minLength: 1,
    maxLength: 256,
    chars: /^[^\u0000-\u001F\u007F-\u009F:/|]$/u,
    pattern: /^(?! )[\s\S]*(?<! )$/,
    allowed: "any characters except : / | and control characters, no space at either end",
    uniqueIn: "scalable-target",
    source: `https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PutScheduledAction.html; ${AAS_MODEL}#ScheduledActionName`,
};

/** Scaling policy names: printable ASCII (Java `\p{Print}`), 1-256; unique on the scalable target. */
export const AAS_POLICY_NAME: AwsStringRule = {
    parameter: "PutScalingPolicy PolicyName",
    minLength: 1,
    maxLength: 256,
    chars: /^[\x20-\x7E]$/,
    allowed: "printable ASCII",
    uniqueIn: "scalable-target",
    source: `https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PutScalingPolicy.html; ${AAS_MODEL}#PolicyName`,
};

export const AAS_RESOURCE_ID: AwsStringRule = {
    parameter: "RegisterScalableTarget / PutScalingPolicy ResourceId",
    minLength: 1,
    maxLength: 1600,
    chars: AAS_XML_CHARS,
    allowed: "XML characters",
    source: `https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html; ${AAS_MODEL}#ResourceIdMaxLen1600`,
};

/** Target-tracking metric query ids: "letters, numbers, and underscores. The first character must be a lowercase letter"; unique in the policy. */
export const AAS_METRIC_QUERY_ID: AwsStringRule = {
    parameter: "TargetTrackingMetricDataQuery Id",
    minLength: 1,
    maxLength: 255,
    chars: /^[A-Za-z0-9_]$/,
    pattern: /^[a-z][\s\S]*$/,
    allowed: "letters, numbers and underscores, starting with a lowercase letter",
    uniqueIn: "resource",
    source: `https://docs.aws.amazon.com/autoscaling/application/APIReference/API_TargetTrackingMetricDataQuery.html; ${AAS_MODEL}#TargetTrackingMetricDataQuery$Id`,
};

function aasText(parameter: string, shape: string, maxLength: number): AwsStringRule {
    return {
        parameter,
        minLength: 1,
        maxLength,
        chars: AAS_XML_CHARS,
        allowed: `1-${maxLength} XML characters`,
        source: `https://docs.aws.amazon.com/autoscaling/application/APIReference/API_TargetTrackingMetricDataQuery.html; ${AAS_MODEL}#${shape}`,
    };
}
export const AAS_METRIC_EXPRESSION = aasText("TargetTrackingMetricDataQuery Expression", "Expression", 2048);
export const AAS_METRIC_NAME = aasText("TargetTrackingMetric MetricName", "TargetTrackingMetricName", 255);
export const AAS_METRIC_NAMESPACE = aasText("TargetTrackingMetric Namespace", "TargetTrackingMetricNamespace", 255);
export const AAS_DIMENSION_NAME = aasText("TargetTrackingMetricDimension Name", "TargetTrackingMetricDimensionName", 255);
export const AAS_DIMENSION_VALUE = aasText("TargetTrackingMetricDimension Value", "TargetTrackingMetricDimensionValue", 1024);

export const AAS_RESOURCE_LABEL: AwsStringRule = {
    parameter: "PredefinedMetricSpecification ResourceLabel",
    minLength: 1,
    maxLength: 1023,
    allowed: "1-1023 characters",
    source: `https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PredefinedMetricSpecification.html; ${AAS_MODEL}#ResourceLabel`,
};

// --- Cloud Map ---------------------------------------------------------------------------------------------------

/** HTTP namespace names: printable ASCII without spaces (`^[!-~]{1,1024}$`); ECS Service Connect also refuses `> < " /`. */
export const SD_HTTP_NAMESPACE_NAME: AwsStringRule = {
    parameter: "CreateHttpNamespace Name",
    minLength: 1,
    maxLength: 1024,
    chars: /^[\x21\x23-\x2E\x30-\x3B\x3D\x3F-\x7E]$/,
    allowed: "printable ASCII without spaces and without > < \" / (Service Connect)",
    uniqueIn: "account-region",
    source: `https://docs.aws.amazon.com/cloud-map/latest/api/API_CreateHttpNamespace.html; ${MODELS} servicediscovery/service/2017-03-14/servicediscovery-2017-03-14.json#NamespaceNameHttp; https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ClusterServiceConnectDefaultsRequest.html`,
};

export const SD_NAMESPACE_DESCRIPTION: AwsStringRule = {
    parameter: "CreateHttpNamespace Description",
    minLength: 0,
    maxLength: 1024,
    allowed: "up to 1024 characters",
    source: `https://docs.aws.amazon.com/cloud-map/latest/api/API_CreateHttpNamespace.html; ${MODELS} servicediscovery/service/2017-03-14/servicediscovery-2017-03-14.json#ResourceDescription`,
};

// --- RDS ---------------------------------------------------------------------------------------------------------

const RDS_MODEL = `${MODELS} rds/service/2014-10-31/rds-2014-10-31.json`;
const RDS_ID_CHARS = /^[A-Za-z0-9-]$/;
/** A letter first, no `--`, no `-` last. */
const RDS_ID_FORM = /^[A-Za-z](?![\s\S]*--)[\s\S]*(?<!-)$/;
const RDS_ID_TEXT = "letters, numbers and hyphens; a letter first; no hyphen last and no two in a row";

export const RDS_CLUSTER_IDENTIFIER: AwsStringRule = {
    parameter: "CreateDBCluster DBClusterIdentifier",
    minLength: 1,
    maxLength: 63,
    chars: RDS_ID_CHARS,
    pattern: RDS_ID_FORM,
    allowed: RDS_ID_TEXT,
    uniqueIn: "account-region",
    caseInsensitive: true,
    source: `https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBCluster.html; ${RDS_MODEL}#CreateDBClusterMessage$DBClusterIdentifier`,
};

export const RDS_INSTANCE_IDENTIFIER: AwsStringRule = {
    ...RDS_CLUSTER_IDENTIFIER,
    parameter: "CreateDBInstance DBInstanceIdentifier",
    source: `https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html; ${RDS_MODEL}#CreateDBInstanceMessage$DBInstanceIdentifier`,
};

export const RDS_FINAL_SNAPSHOT_IDENTIFIER: AwsStringRule = {
    parameter: "DeleteDBCluster FinalDBSnapshotIdentifier",
    minLength: 1,
    maxLength: 255,
    chars: RDS_ID_CHARS,
    pattern: RDS_ID_FORM,
    allowed: RDS_ID_TEXT,
    uniqueIn: "account-region",
    caseInsensitive: true,
    source: `https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DeleteDBCluster.html; ${RDS_MODEL}#DeleteDBClusterMessage$FinalDBSnapshotIdentifier`,
};

/** Cluster parameter group names: the rule stated on CreateDBParameterGroup and RestoreDBClusterToPointInTime (CreateDBClusterParameterGroup omits it). */
export const RDS_CLUSTER_PARAMETER_GROUP_NAME: AwsStringRule = {
    parameter: "CreateDBClusterParameterGroup DBClusterParameterGroupName",
    minLength: 1,
    maxLength: 255,
    chars: RDS_ID_CHARS,
    pattern: RDS_ID_FORM,
    allowed: RDS_ID_TEXT,
    uniqueIn: "account-region",
    caseInsensitive: true,
    source: `https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBParameterGroup.html; ${RDS_MODEL}#CreateDBParameterGroupMessage$DBParameterGroupName; ${RDS_MODEL}#RestoreDBClusterToPointInTimeMessage$DBClusterParameterGroupName`,
};

/** Subnet group names: "no more than 255 letters, numbers, periods, underscores, spaces, or hyphens. Must not be default. First character must be a letter." */
export const RDS_SUBNET_GROUP_NAME: AwsStringRule = {
    parameter: "CreateDBSubnetGroup DBSubnetGroupName",
    minLength: 1,
    maxLength: 255,
    chars: /^[A-Za-z0-9._ -]$/,
    pattern: /^(?![dD][eE][fF][aA][uU][lL][tT]$)[A-Za-z][\s\S]*$/,
    allowed: "letters, numbers, . _ space and -; a letter first; not default",
    uniqueIn: "account-region",
    caseInsensitive: true,
    source: `https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBSubnetGroup.html; ${RDS_MODEL}#CreateDBSubnetGroupMessage$DBSubnetGroupName`,
};

/** Required descriptions without a documented character set or length (parameter and subnet groups). */
export const RDS_GROUP_DESCRIPTION: AwsStringRule = {
    parameter: "CreateDBClusterParameterGroup Description / CreateDBSubnetGroup DBSubnetGroupDescription",
    minLength: 1,
    allowed: "a non-empty description",
    source: `https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBClusterParameterGroup.html; https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBSubnetGroup.html (both required)`,
};

/** Aurora master user names: "1 to 16 letters or numbers. First character must be a letter." */
export const RDS_MASTER_USERNAME: AwsStringRule = {
    parameter: "CreateDBCluster MasterUsername",
    minLength: 1,
    maxLength: 16,
    chars: /^[A-Za-z0-9]$/,
    pattern: /^[A-Za-z][\s\S]*$/,
    allowed: "letters and numbers, a letter first",
    source: `https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBCluster.html; ${RDS_MODEL}#CreateDBClusterMessage$MasterUsername`,
};

/** Aurora PostgreSQL database names: 1-63 alphanumerics and underscores, a letter first. */
export const RDS_DATABASE_NAME: AwsStringRule = {
    parameter: "CreateDBCluster DatabaseName (Aurora PostgreSQL)",
    minLength: 1,
    maxLength: 63,
    chars: /^[A-Za-z0-9_]$/,
    pattern: /^[A-Za-z][\s\S]*$/,
    allowed: "letters, numbers and underscores, a letter first",
    source: `https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBCluster.html; ${RDS_MODEL}#CreateDBInstanceMessage$DBName`,
};

export const RDS_BACKUP_WINDOW: AwsStringRule = {
    parameter: "CreateDBCluster PreferredBackupWindow",
    pattern: /^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$/,
    allowed: "hh24:mi-hh24:mi (UTC)",
    source: `https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBCluster.html; ${RDS_MODEL}#CreateDBClusterMessage$PreferredBackupWindow`,
};

const WEEKLY_WINDOW = /^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d$/i;
export const RDS_MAINTENANCE_WINDOW: AwsStringRule = {
    parameter: "CreateDBCluster / CreateDBInstance PreferredMaintenanceWindow",
    pattern: WEEKLY_WINDOW,
    allowed: "ddd:hh24:mi-ddd:hh24:mi (UTC)",
    source: `https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBCluster.html; ${RDS_MODEL}#CreateDBClusterMessage$PreferredMaintenanceWindow`,
};

// --- ElastiCache -------------------------------------------------------------------------------------------------

const EC_MODEL = `${MODELS} elasticache/service/2015-02-02/elasticache-2015-02-02.json`;

export const ELASTICACHE_REPLICATION_GROUP_ID: AwsStringRule = {
    parameter: "CreateReplicationGroup ReplicationGroupId",
    minLength: 1,
    maxLength: 40,
    chars: RDS_ID_CHARS,
    pattern: RDS_ID_FORM,
    allowed: "1-40 alphanumerics or hyphens; a letter first; no hyphen last and no two in a row",
    uniqueIn: "account-region",
    caseInsensitive: true,
    source: `https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html; ${EC_MODEL}#CreateReplicationGroupMessage$ReplicationGroupId`,
};

/** Parameter group names: the user guide's rule (the API reference says only "A user-specified name"). */
export const ELASTICACHE_PARAMETER_GROUP_NAME: AwsStringRule = {
    parameter: "CreateCacheParameterGroup CacheParameterGroupName",
    minLength: 1,
    maxLength: 255,
    chars: RDS_ID_CHARS,
    pattern: RDS_ID_FORM,
    allowed: "ASCII letters, digits and hyphens; a letter first; no hyphen last and no two in a row",
    uniqueIn: "account-region",
    caseInsensitive: true,
    source: "https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/ParameterGroups.Creating.html",
};

/** Subnet group names: "no more than 255 alphanumeric characters or hyphens". */
export const ELASTICACHE_SUBNET_GROUP_NAME: AwsStringRule = {
    parameter: "CreateCacheSubnetGroup CacheSubnetGroupName",
    minLength: 1,
    maxLength: 255,
    chars: RDS_ID_CHARS,
    allowed: "alphanumerics and hyphens",
    uniqueIn: "account-region",
    caseInsensitive: true,
    source: `https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateCacheSubnetGroup.html; ${EC_MODEL}#CreateCacheSubnetGroupMessage$CacheSubnetGroupName`,
};

export const ELASTICACHE_DESCRIPTION: AwsStringRule = {
    parameter: "CreateReplicationGroup ReplicationGroupDescription / CreateCacheParameterGroup Description / CreateCacheSubnetGroup CacheSubnetGroupDescription",
    minLength: 1,
    allowed: "a non-empty description",
    source: `https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html; https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateCacheSubnetGroup.html (required)`,
};

export const ELASTICACHE_MAINTENANCE_WINDOW: AwsStringRule = {
    parameter: "CreateReplicationGroup PreferredMaintenanceWindow",
    pattern: WEEKLY_WINDOW,
    allowed: "ddd:hh24:mi-ddd:hh24:mi (UTC)",
    source: `https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html; ${EC_MODEL}#CreateReplicationGroupMessage$PreferredMaintenanceWindow`,
};

export const ELASTICACHE_SNAPSHOT_WINDOW: AwsStringRule = {
    parameter: "CreateReplicationGroup SnapshotWindow",
    pattern: /^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$/,
    allowed: "hh24:mi-hh24:mi (UTC)",
    source: `https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html; ${EC_MODEL}#CreateReplicationGroupMessage$SnapshotWindow`,
};

/**
 * A generated credential's special characters (random.RandomPassword overrideSpecial): the value becomes an
 * ElastiCache AuthToken ("the only permitted printable special characters are !, &, #, $, ^, <, >, and -") or an
 * Aurora master password (printable ASCII except / " @); this is what both accept.
 */
export const GENERATED_CREDENTIAL_SPECIALS: AwsStringRule = {
    parameter: "CreateReplicationGroup AuthToken / CreateDBCluster MasterUserPassword (special characters of the generated value)",
    chars: /^[!&#$^<>-]$/,
    allowed: "! & # $ ^ < > -",
    source: `https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html; ${EC_MODEL}#CreateReplicationGroupMessage$AuthToken; ${RDS_MODEL}#CreateDBClusterMessage$MasterUserPassword`,
};

// --- S3 ----------------------------------------------------------------------------------------------------------

/** Bucket names: 3-63 of a-z 0-9 . -, a letter or digit at both ends, no `..`, not an IP address, none of the reserved prefixes and suffixes; global. */
export const S3_BUCKET_NAME: AwsStringRule = {
    parameter: "CreateBucket Bucket",
    minLength: 3,
    maxLength: 63,
    chars: /^[a-z0-9.-]$/,
    pattern: /^(?!xn--|sthree-|amzn-s3-demo-)(?![\s\S]*(?:-s3alias|--ol-s3|\.mrap|--x-s3)$)(?!\d{1,3}(?:\.\d{1,3}){3}$)(?![\s\S]*\.\.)[a-z0-9][\s\S]*[a-z0-9]$/,
    allowed: "lowercase letters, numbers, . and -; a letter or number at both ends; no ..; not an IP address; no reserved prefix (xn--, sthree-, amzn-s3-demo-) or suffix (-s3alias, --ol-s3, .mrap, --x-s3)",
    uniqueIn: "global",
    source: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html",
};

export const S3_LIFECYCLE_RULE_ID: AwsStringRule = {
    parameter: "PutBucketLifecycleConfiguration Rules.N.ID",
    maxLength: 255,
    allowed: "up to 255 characters",
    uniqueIn: "resource",
    source: `https://docs.aws.amazon.com/AmazonS3/latest/API/API_LifecycleRule.html; ${MODELS} s3/service/2006-03-01/s3-2006-03-01.json#LifecycleRule$ID`,
};

const BACKUP_MODEL = "botocore 1.29.27 data/backup/2018-11-15/service-2.json";
/** AWS Backup vault names: "unique to the account used to create them and the Region". */
export const BACKUP_VAULT_NAME: AwsStringRule = {
    parameter: "CreateBackupVault BackupVaultName",
    minLength: 2,
    maxLength: 50,
    chars: /[a-zA-Z0-9_-]/,
    allowed: "2-50 letters, digits, - and _",
    uniqueIn: "account-region",
    source: `${BACKUP_MODEL}#BackupVaultName (pattern ^[a-zA-Z0-9\\-\\_]{2,50}$)`,
};
/** Backup plan, rule and selection display names: "1 to 50 alphanumeric or '-_.' characters". */
const backupDisplayName = (parameter: string, shape: string, uniqueIn?: UniqueScope): AwsStringRule => ({
    parameter,
    minLength: 1,
    maxLength: 50,
    chars: /[a-zA-Z0-9_.-]/,
    allowed: "1-50 letters, digits, -, _ and .",
    uniqueIn,
    source: `${BACKUP_MODEL}#${shape} (documentation; BackupRuleName and BackupSelectionName carry the pattern ^[a-zA-Z0-9\\-\\_\\.]{1,50}$)`,
});
export const BACKUP_PLAN_NAME = backupDisplayName("CreateBackupPlan BackupPlan.BackupPlanName", "BackupPlanName", "account-region");
export const BACKUP_RULE_NAME = backupDisplayName("CreateBackupPlan BackupPlan.Rules.N.RuleName", "BackupRuleName", "resource");
export const BACKUP_SELECTION_NAME = backupDisplayName("CreateBackupSelection BackupSelection.SelectionName", "BackupSelectionName");
/** S3 server access logging TargetPrefix: an object key prefix (object keys are at most 1,024 bytes of UTF-8). */
export const S3_LOGGING_TARGET_PREFIX: AwsStringRule = {
    parameter: "PutBucketLogging BucketLoggingStatus.LoggingEnabled.TargetPrefix",
    maxLength: 1024,
    allowed: "an object key prefix, up to 1,024 characters",
    source: `https://docs.aws.amazon.com/AmazonS3/latest/API/API_LoggingEnabled.html; https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html`,
};

/** Bucket policies: "Bucket policies are limited to 20 KB in size." */
export const S3_BUCKET_POLICY: AwsStringRule = {
    parameter: "PutBucketPolicy Policy",
    minLength: 1,
    maxLength: 20 * 1024,
    allowed: "up to 20 KB",
    source: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html",
};

// --- EFS ---------------------------------------------------------------------------------------------------------

const EFS_MODEL = `${MODELS} efs/service/2015-02-01/efs-2015-02-01.json`;

/** EFS's own tag patterns (the model: key `^(?![aA]{1}[wW]{1}[sS]{1}:)([\p{L}\p{Z}\p{N}_.:/=+\-@]+)$`). */
export const EFS_TAG_KEY: AwsStringRule = { ...TAG_KEY, parameter: "EFS Tag.Key", source: `https://docs.aws.amazon.com/efs/latest/ug/API_Tag.html; ${EFS_MODEL}#TagKey` };
export const EFS_TAG_VALUE: AwsStringRule = { ...TAG_VALUE, parameter: "EFS Tag.Value", source: `https://docs.aws.amazon.com/efs/latest/ug/API_Tag.html; ${EFS_MODEL}#TagValue` };

export const EFS_CREATION_TOKEN: AwsStringRule = {
    parameter: "CreateFileSystem CreationToken",
    minLength: 1,
    maxLength: 64,
    allowed: "1-64 characters",
    uniqueIn: "account-region",
    source: `https://docs.aws.amazon.com/efs/latest/ug/API_CreateFileSystem.html; ${EFS_MODEL}#CreationToken`,
};

/** Access point root paths: `/` or up to four components, none starting with `.` or holding `$ # < > ; \` | & ? { } ^ *`. */
export const EFS_ACCESS_POINT_PATH: AwsStringRule = {
    parameter: "CreateAccessPoint RootDirectory.Path",
    minLength: 1,
    maxLength: 100,
    pattern: /^(?:\/|(?:\/(?!\.)[^$#<>;`|&?{}^*/\n]+){1,4})$/,
    allowed: "/ or up to 4 components, none starting with . or containing $ # < > ; ` | & ? { } ^ *",
    source: `https://docs.aws.amazon.com/efs/latest/ug/API_RootDirectory.html; ${EFS_MODEL}#Path`,
};

export const EFS_FILE_SYSTEM_POLICY: AwsStringRule = {
    parameter: "PutFileSystemPolicy Policy",
    minLength: 1,
    maxLength: 20000,
    allowed: "1-20000 characters",
    source: `https://docs.aws.amazon.com/efs/latest/ug/API_PutFileSystemPolicy.html; ${EFS_MODEL}#Policy`,
};

// --- Route 53 and ACM --------------------------------------------------------------------------------------------

/** Record names: labels of up to 63 printable non-space ASCII characters (others as \ooo escapes), 255 in all; unique per zone and type. */
export const ROUTE53_RECORD_NAME: AwsStringRule = {
    parameter: "ChangeResourceRecordSets ResourceRecordSet.Name",
    minLength: 1,
    maxLength: 255,
    chars: /^[!-~]$/,
    pattern: /^(?:[^.]{1,63}\.)*[^.]{1,63}\.?$/,
    allowed: "printable ASCII without spaces, labels of 1-63 characters separated by .",
    uniqueIn: "hosted-zone",
    caseInsensitive: true,
    source: `https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DomainNameFormat.html; ${MODELS} route-53/service/2013-04-01/route-53-2013-04-01.json#DNSName`,
};

export const ROUTE53_RECORD_VALUE: AwsStringRule = {
    parameter: "ResourceRecord Value",
    minLength: 0,
    maxLength: 4000,
    allowed: "up to 4000 characters",
    source: `https://docs.aws.amazon.com/Route53/latest/APIReference/API_ResourceRecord.html; ${MODELS} route-53/service/2013-04-01/route-53-2013-04-01.json#RData`,
};

/** Certificate domain names: an FQDN (optionally `*.`); the common name "can't exceed 64 octets". */
export const ACM_DOMAIN_NAME: AwsStringRule = {
    parameter: "RequestCertificate DomainName",
    minLength: 1,
    maxLength: 64,
    chars: /^[A-Za-z0-9.*-]$/,
    pattern: /^(\*\.)?(((?!-)[A-Za-z0-9-]{0,62}[A-Za-z0-9])\.)+((?!-)[A-Za-z0-9-]{1,62}[A-Za-z0-9])$/,
    allowed: "a fully qualified domain name (optionally *.), labels of letters, digits and hyphens",
    source: `https://docs.aws.amazon.com/acm/latest/APIReference/API_RequestCertificate.html; ${MODELS} acm/service/2015-12-08/acm-2015-12-08.json#DomainNameString`,
};

export const ACM_SUBJECT_ALTERNATIVE_NAME: AwsStringRule = {
    ...ACM_DOMAIN_NAME,
    parameter: "RequestCertificate SubjectAlternativeNames",
    maxLength: 253,
    source: `https://docs.aws.amazon.com/acm/latest/APIReference/API_RequestCertificate.html; ${MODELS} acm/service/2015-12-08/acm-2015-12-08.json#DomainList`,
};

// --- ECR ---------------------------------------------------------------------------------------------------------

const ECR_MODEL = `${MODELS} ecr/service/2015-09-21/ecr-2015-09-21.json`;

export const ECR_REPOSITORY_PREFIX: AwsStringRule = {
    parameter: "CreatePullThroughCacheRule ecrRepositoryPrefix",
    minLength: 2,
    maxLength: 30,
    chars: /^[a-z0-9._/-]$/,
    pattern: /^(?:(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*\/?|ROOT)$/,
    allowed: "lowercase alphanumeric components joined by single . _ - or /, or ROOT",
    uniqueIn: "account-region",
    source: `https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreatePullThroughCacheRule.html; ${ECR_MODEL}#PullThroughCacheRuleRepositoryPrefix`,
};

/** The upstream credential: a Secrets Manager secret whose name starts with `ecr-pullthroughcache/`. */
export const ECR_CREDENTIAL_ARN: AwsStringRule = {
    parameter: "CreatePullThroughCacheRule credentialArn",
    minLength: 50,
    maxLength: 612,
    pattern: /^arn:aws:secretsmanager:[a-zA-Z0-9-:]+:secret:ecr-pullthroughcache\/[a-zA-Z0-9/_+=.@-]+$/,
    allowed: "the ARN of a secret named ecr-pullthroughcache/...",
    source: `https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreatePullThroughCacheRule.html; ${ECR_MODEL}#CredentialArn`,
};

// --- Rules by resource type --------------------------------------------------------------------------------------

/**
 * The rule each input of each resource type must meet, by input path: `a.b` nests, `a[]` is every item of a list,
 * `tags.*` every value of a map and `tags{}` every key of it, `a#json` parses the string at `a` as JSON first.
 * Inputs the program leaves out (a name Pulumi generates) are not sent by the program and so not checked.
 */
export const INPUT_RULES: Record<string, Record<string, AwsStringRule>> = {
    // EC2 and VPC
    "aws:ec2/securityGroup:SecurityGroup": { name: EC2_SECURITY_GROUP_NAME, description: EC2_SECURITY_GROUP_DESCRIPTION, ...tags(EC2_TAG_KEY, EC2_TAG_VALUE) },
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": tags(EC2_TAG_KEY, EC2_TAG_VALUE),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": { description: EC2_SECURITY_GROUP_RULE_DESCRIPTION, ...tags(EC2_TAG_KEY, EC2_TAG_VALUE) },
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": { description: EC2_SECURITY_GROUP_RULE_DESCRIPTION, ...tags(EC2_TAG_KEY, EC2_TAG_VALUE) },
    "aws:ec2/vpcEndpoint:VpcEndpoint": tags(EC2_TAG_KEY, EC2_TAG_VALUE),
    "aws:ec2/flowLog:FlowLog": tags(EC2_TAG_KEY, EC2_TAG_VALUE),
    // awsx's VPC component creates the VPC, subnets, gateways and routes in its own plugin and tags them with these.
    "awsx:ec2:Vpc": tags(EC2_TAG_KEY, EC2_TAG_VALUE),

    // Elastic Load Balancing
    "aws:lb/loadBalancer:LoadBalancer": { name: ELB_LOAD_BALANCER_NAME, ...tags(TAG_KEY, TAG_VALUE) },
    "aws:lb/targetGroup:TargetGroup": { name: ELB_TARGET_GROUP_NAME, "healthCheck.path": ELB_HEALTH_CHECK_PATH, ...tags(TAG_KEY, TAG_VALUE) },
    "aws:lb/listener:Listener": { "defaultActions[].fixedResponse.messageBody": ELB_FIXED_RESPONSE_MESSAGE, ...tags(TAG_KEY, TAG_VALUE) },
    "aws:lb/listenerRule:ListenerRule": {
        "conditions[].pathPattern.values[]": ELB_PATH_PATTERN_VALUE,
        "conditions[].hostHeader.values[]": ELB_HOST_HEADER_VALUE,
        "actions[].fixedResponse.messageBody": ELB_FIXED_RESPONSE_MESSAGE,
        ...tags(TAG_KEY, TAG_VALUE),
    },

    // CloudWatch, Logs, EventBridge
    "aws:cloudwatch/metricAlarm:MetricAlarm": {
        name: CW_ALARM_NAME,
        alarmDescription: CW_ALARM_DESCRIPTION,
        metricName: CW_METRIC_NAME,
        namespace: CW_NAMESPACE,
        "dimensions{}": CW_DIMENSION_NAME,
        "dimensions.*": CW_DIMENSION_VALUE,
        "metricQueries[].id": CW_METRIC_QUERY_ID,
        "metricQueries[].expression": CW_METRIC_EXPRESSION,
        "metricQueries[].metric.metricName": CW_METRIC_NAME,
        "metricQueries[].metric.namespace": CW_NAMESPACE,
        "metricQueries[].metric.dimensions{}": CW_DIMENSION_NAME,
        "metricQueries[].metric.dimensions.*": CW_DIMENSION_VALUE,
        ...tags(TAG_KEY, TAG_VALUE),
    },
    "aws:cloudwatch/dashboard:Dashboard": { dashboardName: CW_DASHBOARD_NAME },
    "aws:cloudwatch/logGroup:LogGroup": { name: LOGS_LOG_GROUP_NAME, ...tags(TAG_KEY, TAG_VALUE) },
    "aws:cloudwatch/eventRule:EventRule": { name: EVENTS_RULE_NAME, description: EVENTS_RULE_DESCRIPTION, eventPattern: EVENTS_EVENT_PATTERN, ...tags(TAG_KEY, TAG_VALUE) },
    "aws:cloudwatch/eventTarget:EventTarget": { rule: reference(EVENTS_RULE_NAME, "PutTargets Rule") },
    "aws:sns/topic:Topic": { name: SNS_TOPIC_NAME, ...tags(TAG_KEY, TAG_VALUE) },

    // IAM, KMS, Secrets Manager
    "aws:iam/role:Role": {
        name: IAM_ROLE_NAME,
        path: IAM_PATH,
        description: IAM_ROLE_DESCRIPTION,
        assumeRolePolicy: IAM_POLICY_DOCUMENT,
        ...tags(TAG_KEY, TAG_VALUE),
    },
    "aws:iam/rolePolicy:RolePolicy": { name: IAM_POLICY_NAME, role: reference(IAM_ROLE_NAME, "PutRolePolicy RoleName"), policy: IAM_POLICY_DOCUMENT },
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": { role: reference(IAM_ROLE_NAME, "AttachRolePolicy RoleName") },
    "aws:kms/key:Key": { description: KMS_KEY_DESCRIPTION, policy: KMS_KEY_POLICY, ...tags(TAG_KEY, TAG_VALUE) },
    "aws:kms/alias:Alias": { name: KMS_ALIAS_NAME },
    "aws:secretsmanager/secret:Secret": { name: SM_SECRET_NAME, namePrefix: SM_SECRET_NAME_PREFIX, description: SM_SECRET_DESCRIPTION, ...tags(TAG_KEY, TAG_VALUE) },

    // WAF
    "aws:wafv2/webAcl:WebAcl": {
        name: WAF_ENTITY_NAME,
        description: WAF_DESCRIPTION,
        "visibilityConfig.metricName": WAF_METRIC_NAME,
        "rules[].name": WAF_RULE_NAME,
        "rules[].visibilityConfig.metricName": WAF_METRIC_NAME,
        "rules[].statement.managedRuleGroupStatement.name": reference(WAF_ENTITY_NAME, "ManagedRuleGroupStatement Name"),
        "rules[].statement.managedRuleGroupStatement.vendorName": WAF_VENDOR_NAME,
        "rules[].statement.managedRuleGroupStatement.ruleActionOverrides[].name": reference(WAF_ENTITY_NAME, "RuleActionOverride Name"),
        ...tags(TAG_KEY, TAG_VALUE),
    },
    "aws:wafv2/ipSet:IpSet": { name: WAF_ENTITY_NAME, description: WAF_DESCRIPTION, ...tags(TAG_KEY, TAG_VALUE) },
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": {
        "logDestinationConfigs[]": WAF_LOG_DESTINATION,
        "redactedFields[].singleHeader.name": WAF_REDACTED_HEADER_NAME,
    },

    // ECS and Application Auto Scaling
    "aws:ecs/cluster:Cluster": {
        name: ECS_CLUSTER_NAME,
        "configuration.executeCommandConfiguration.logConfiguration.cloudWatchLogGroupName": reference(LOGS_LOG_GROUP_NAME, "ExecuteCommandLogConfiguration cloudWatchLogGroupName"),
        ...tags(ECS_TAG_KEY, ECS_TAG_VALUE),
    },
    "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": {
        clusterName: reference(ECS_CLUSTER_NAME, "PutClusterCapacityProviders cluster"),
        "capacityProviders[]": ECS_CAPACITY_PROVIDER,
        "defaultCapacityProviderStrategies[].capacityProvider": ECS_CAPACITY_PROVIDER,
    },
    "aws:ecs/service:Service": {
        name: ECS_SERVICE_NAME,
        "capacityProviderStrategies[].capacityProvider": ECS_CAPACITY_PROVIDER,
        "loadBalancers[].containerName": reference(ECS_CONTAINER_NAME, "LoadBalancer containerName"),
        "serviceConnectConfiguration.services[].discoveryName": ECS_DISCOVERY_NAME,
        "serviceConnectConfiguration.services[].portName": ECS_SC_PORT_NAME,
        "serviceConnectConfiguration.services[].clientAlias[].dnsName": ECS_CLIENT_ALIAS_DNS_NAME,
        ...tags(ECS_TAG_KEY, ECS_TAG_VALUE),
    },
    "aws:ecs/taskDefinition:TaskDefinition": {
        family: ECS_FAMILY,
        "containerDefinitions#json[].name": ECS_CONTAINER_NAME,
        "containerDefinitions#json[].portMappings[].name": ECS_PORT_MAPPING_NAME,
        "volumes[].name": ECS_VOLUME_NAME,
        ...tags(ECS_TAG_KEY, ECS_TAG_VALUE),
    },
    "aws:appautoscaling/target:Target": { resourceId: AAS_RESOURCE_ID, ...tags(TAG_KEY, TAG_VALUE) },
    "aws:appautoscaling/policy:Policy": {
        name: AAS_POLICY_NAME,
        resourceId: AAS_RESOURCE_ID,
        "targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.resourceLabel": AAS_RESOURCE_LABEL,
        "targetTrackingScalingPolicyConfiguration.customizedMetricSpecification.metrics[].id": AAS_METRIC_QUERY_ID,
        "targetTrackingScalingPolicyConfiguration.customizedMetricSpecification.metrics[].expression": AAS_METRIC_EXPRESSION,
        "targetTrackingScalingPolicyConfiguration.customizedMetricSpecification.metrics[].metricStat.metric.metricName": AAS_METRIC_NAME,
        "targetTrackingScalingPolicyConfiguration.customizedMetricSpecification.metrics[].metricStat.metric.namespace": AAS_METRIC_NAMESPACE,
        "targetTrackingScalingPolicyConfiguration.customizedMetricSpecification.metrics[].metricStat.metric.dimensions[].name": AAS_DIMENSION_NAME,
        "targetTrackingScalingPolicyConfiguration.customizedMetricSpecification.metrics[].metricStat.metric.dimensions[].value": AAS_DIMENSION_VALUE,
    },
    "aws:appautoscaling/scheduledAction:ScheduledAction": { name: AAS_SCHEDULED_ACTION_NAME, resourceId: AAS_RESOURCE_ID },
    "aws:servicediscovery/httpNamespace:HttpNamespace": { name: SD_HTTP_NAMESPACE_NAME, description: SD_NAMESPACE_DESCRIPTION, ...tags(TAG_KEY, TAG_VALUE) },

    // RDS and ElastiCache
    "aws:rds/cluster:Cluster": {
        clusterIdentifier: RDS_CLUSTER_IDENTIFIER,
        finalSnapshotIdentifier: RDS_FINAL_SNAPSHOT_IDENTIFIER,
        dbClusterParameterGroupName: reference(RDS_CLUSTER_PARAMETER_GROUP_NAME, "CreateDBCluster DBClusterParameterGroupName"),
        dbSubnetGroupName: reference(RDS_SUBNET_GROUP_NAME, "CreateDBCluster DBSubnetGroupName"),
        masterUsername: RDS_MASTER_USERNAME,
        databaseName: RDS_DATABASE_NAME,
        preferredBackupWindow: RDS_BACKUP_WINDOW,
        preferredMaintenanceWindow: RDS_MAINTENANCE_WINDOW,
        ...tags(RDS_TAG_KEY, RDS_TAG_VALUE),
    },
    "aws:rds/clusterInstance:ClusterInstance": {
        identifier: RDS_INSTANCE_IDENTIFIER,
        clusterIdentifier: reference(RDS_CLUSTER_IDENTIFIER, "CreateDBInstance DBClusterIdentifier"),
        preferredMaintenanceWindow: RDS_MAINTENANCE_WINDOW,
        ...tags(RDS_TAG_KEY, RDS_TAG_VALUE),
    },
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": { name: RDS_CLUSTER_PARAMETER_GROUP_NAME, description: RDS_GROUP_DESCRIPTION, ...tags(RDS_TAG_KEY, RDS_TAG_VALUE) },
    "aws:rds/subnetGroup:SubnetGroup": { name: RDS_SUBNET_GROUP_NAME, description: RDS_GROUP_DESCRIPTION, ...tags(RDS_TAG_KEY, RDS_TAG_VALUE) },
    "aws:elasticache/replicationGroup:ReplicationGroup": {
        replicationGroupId: ELASTICACHE_REPLICATION_GROUP_ID,
        description: ELASTICACHE_DESCRIPTION,
        parameterGroupName: reference(ELASTICACHE_PARAMETER_GROUP_NAME, "CreateReplicationGroup CacheParameterGroupName"),
        subnetGroupName: reference(ELASTICACHE_SUBNET_GROUP_NAME, "CreateReplicationGroup CacheSubnetGroupName"),
        maintenanceWindow: ELASTICACHE_MAINTENANCE_WINDOW,
        snapshotWindow: ELASTICACHE_SNAPSHOT_WINDOW,
        ...tags(TAG_KEY, TAG_VALUE),
    },
    "aws:elasticache/parameterGroup:ParameterGroup": { name: ELASTICACHE_PARAMETER_GROUP_NAME, description: ELASTICACHE_DESCRIPTION, ...tags(TAG_KEY, TAG_VALUE) },
    "aws:elasticache/subnetGroup:SubnetGroup": { name: ELASTICACHE_SUBNET_GROUP_NAME, description: ELASTICACHE_DESCRIPTION, ...tags(TAG_KEY, TAG_VALUE) },
    "random:index/randomPassword:RandomPassword": { overrideSpecial: GENERATED_CREDENTIAL_SPECIALS },

    // S3, EFS
    "aws:s3/bucket:Bucket": { bucket: S3_BUCKET_NAME, ...tags(TAG_KEY, TAG_VALUE) },
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": { "rules[].id": S3_LIFECYCLE_RULE_ID },
    "aws:s3/bucketPolicy:BucketPolicy": { policy: S3_BUCKET_POLICY },
    "aws:s3/bucketLogging:BucketLogging": { targetPrefix: S3_LOGGING_TARGET_PREFIX },
    "aws:backup/vault:Vault": { name: BACKUP_VAULT_NAME, ...tags(TAG_KEY, TAG_VALUE) },
    "aws:backup/plan:Plan": { name: BACKUP_PLAN_NAME, "rules[].ruleName": BACKUP_RULE_NAME, ...tags(TAG_KEY, TAG_VALUE) },
    "aws:backup/selection:Selection": { name: BACKUP_SELECTION_NAME },
    "aws:efs/fileSystem:FileSystem": { creationToken: EFS_CREATION_TOKEN, ...tags(EFS_TAG_KEY, EFS_TAG_VALUE) },
    "aws:efs/accessPoint:AccessPoint": { "rootDirectory.path": EFS_ACCESS_POINT_PATH, ...tags(EFS_TAG_KEY, EFS_TAG_VALUE) },
    "aws:efs/fileSystemPolicy:FileSystemPolicy": { policy: EFS_FILE_SYSTEM_POLICY },

    // DNS, certificates, registries
    "aws:route53/record:Record": { name: ROUTE53_RECORD_NAME, "records[]": ROUTE53_RECORD_VALUE },
    "aws:acm/certificate:Certificate": { domainName: ACM_DOMAIN_NAME, "subjectAlternativeNames[]": ACM_SUBJECT_ALTERNATIVE_NAME, ...tags(TAG_KEY, TAG_VALUE) },
    "aws:ecr/pullThroughCacheRule:PullThroughCacheRule": { ecrRepositoryPrefix: ECR_REPOSITORY_PREFIX, credentialArn: ECR_CREDENTIAL_ARN },

    // The program's dynamic providers, where their inputs reach an AWS API as they are.
    "pulumi-nodejs:dynamic/migration:PreMigrationSnapshot": {
        clusterIdentifier: reference(RDS_CLUSTER_IDENTIFIER, "CreateDBClusterSnapshot DBClusterIdentifier"),
        // Tag values of the snapshot: dify-aws:pre-migration-snapshot = identifierPrefix, dify-aws:version = version (cut to 256).
        identifierPrefix: { ...RDS_TAG_VALUE, parameter: "CreateDBClusterSnapshot Tags.N.Value (dify-aws:pre-migration-snapshot)" },
        version: { ...RDS_TAG_VALUE, maxLength: undefined, parameter: "CreateDBClusterSnapshot Tags.N.Value (dify-aws:version, cut to 256)" },
    },
    "pulumi-nodejs:dynamic/migration:MigrationGate": { containerName: reference(ECS_CONTAINER_NAME, "RunTask overrides.containerOverrides.N.name") },
};

/**
 * Registered types that send AWS no name, id, description, tag or free text the program chooses, and why. A type in
 * neither this map nor INPUT_RULES fails test/awsAcceptance.test.ts.
 */
export const NO_STRING_RULES: Record<string, string> = {
    "aws:acm/certificateValidation:CertificateValidation": "only the certificate's ARN and the validation records' FQDNs, both ACM's own values",
    "aws:efs/backupPolicy:BackupPolicy": "only the file system id and an ENABLED/DISABLED status",
    "aws:backup/vaultLockConfiguration:VaultLockConfiguration": "only the vault's name (checked on aws:backup/vault:Vault) and day counts",
    "aws:efs/mountTarget:MountTarget": "only the file system, subnet and security group ids",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "only the bucket's name (checked on aws:s3/bucket:Bucket) and an ownership enum",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "only the bucket's name (checked on aws:s3/bucket:Bucket) and booleans",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": "only the bucket's name, a key ARN and an algorithm enum",
    "aws:s3/bucketVersioning:BucketVersioning": "only the bucket's name (checked on aws:s3/bucket:Bucket) and a status enum",
    "aws:secretsmanager/secretVersion:SecretVersion": "the secret's id (a reference) and the secret value, which is generated and secret, not text the program writes",
    "aws:sns/topicPolicy:TopicPolicy": "the topic's ARN and a policy document; SNS's model gives the Policy attribute no length or character rule",
    "aws:wafv2/webAclAssociation:WebAclAssociation": "only two ARNs",
    "random:index/randomId:RandomId": "a local random value: its keepers never reach AWS",
    "pulumi-nodejs:dynamic/data:DataGuardRecord": "the program's own record in the stack state; its provider calls no AWS API",
    "pulumi-nodejs:dynamic/rollout:RolloutCheck": "reads only (DescribeServices, ListTasks, ...) with the cluster ARN and the service names and task definition ARNs checked on their own types",
};

// --- Checking ------------------------------------------------------------------------------------------------------

/** What a value not known yet looks like in a recorded input during a preview (`pulumi.runtime.unknownValue`). */
const UNKNOWN: string = pulumi.runtime.unknownValue;

/**
 * Every known string at an input path (see INPUT_RULES), with the concrete path it was found at. Values not known yet
 * (a preview's unknowns) are left out: the program does not choose them.
 */
export function valuesAt(inputs: unknown, path: string): { at: string; value: string }[] {
    const parts = path.split(".");
    const walk = (value: unknown, i: number, at: string): { at: string; value: string }[] => {
        if (value === UNKNOWN) {
            return [];
        }
        if (i === parts.length) {
            return typeof value === "string" ? [{ at, value }] : [];
        }
        const part = parts[i];
        if (value === null || typeof value !== "object") {
            return [];
        }
        const record = value as Record<string, unknown>;
        if (part === "*") {
            return Object.entries(record).flatMap(([k, v]) => walk(v, i + 1, `${at}.${k}`));
        }
        const [, key, json, each] = /^(.*?)(#json)?(\[\]|\{\})?$/.exec(part)!;
        const here = at ? `${at}.${key}` : key;
        let next: unknown = record[key];
        if (json) {
            if (typeof next !== "string" || next === UNKNOWN) {
                return [];
            }
            try {
                next = JSON.parse(next);
            } catch {
                return [];
            }
        }
        if (each === "{}") {
            return next && typeof next === "object" && i === parts.length - 1 ? Object.keys(next).map((k) => ({ at: `${here}{${k}}`, value: k })) : [];
        }
        if (each === "[]") {
            return Array.isArray(next) ? next.flatMap((v, j) => walk(v, i + 1, `${here}[${j}]`)) : [];
        }
        return walk(next, i + 1, here);
    };
    return walk(inputs, 0, "").map((v) => ({ ...v, at: v.at.replace(/^\./, "") }));
}

/** What a resource's inputs break, one line per value: `<path> = "<value>": <reasons> (<parameter>)`. */
export function inputViolations(type: string, inputs: Record<string, unknown>): string[] {
    const out: string[] = [];
    for (const [path, rule] of Object.entries(INPUT_RULES[type] ?? {})) {
        for (const { at, value } of valuesAt(inputs, path)) {
            const reasons = ruleViolations(rule, value);
            if (reasons.length > 0) {
                out.push(`${at} = ${JSON.stringify(value)}: ${reasons.join("; ")} (${rule.parameter}, ${rule.source})`);
            }
        }
    }
    return out;
}

/** A registered resource, as far as uniqueness needs it. */
export interface NamedResource {
    type: string;
    name: string;
    urn?: string;
    inputs: Record<string, any>;
}

/**
 * The part of a resource that bounds a uniqueness scope: values collide only between resources with the same key.
 * One program run is one account and region, and its one VPC, so those scopes are the whole run.
 */
export const UNIQUE_SCOPES: Record<UniqueScope, (r: NamedResource) => string> = {
    global: () => "",
    account: () => "",
    "account-region": () => "",
    vpc: (r) => String(r.inputs.vpcId ?? ""),
    "load-balancer": (r) => String(r.inputs.loadBalancerArn ?? r.inputs.listenerArn ?? ""),
    "web-acl": (r) => r.urn ?? `${r.type}::${r.name}`,
    resource: (r) => r.urn ?? `${r.type}::${r.name}`,
    cluster: (r) => String(r.inputs.cluster ?? ""),
    role: (r) => String(r.inputs.role ?? ""),
    "scalable-target": (r) => `${r.inputs.serviceNamespace}/${r.inputs.resourceId}/${r.inputs.scalableDimension}`,
    "hosted-zone": (r) => `${r.inputs.zoneId}/${r.inputs.type}`,
    namespace: (r) => String(r.inputs.serviceConnectConfiguration?.namespace ?? ""),
};

/**
 * Equal values where AWS wants them unique (rules with `uniqueIn`), one line per collision. `scopes` limits the check
 * (e.g. to "account" and "global" across two stacks that may share an account).
 */
export function uniquenessViolations(resources: NamedResource[], scopes?: readonly UniqueScope[]): string[] {
    const seen = new Map<string, { rule: AwsStringRule; value: string; where: string[] }>();
    for (const r of resources) {
        for (const [path, rule] of Object.entries(INPUT_RULES[r.type] ?? {})) {
            if (!rule.uniqueIn || (scopes && !scopes.includes(rule.uniqueIn))) {
                continue;
            }
            for (const { at, value } of valuesAt(r.inputs, path)) {
                const scope = UNIQUE_SCOPES[rule.uniqueIn](r);
                const key = JSON.stringify([rule.parameter, rule.uniqueIn, scope, rule.caseInsensitive ? value.toLowerCase() : value]);
                const entry = seen.get(key) ?? { rule, value, where: [] };
                entry.where.push(`${r.type} ${r.name} ${at}`);
                seen.set(key, entry);
            }
        }
    }
    return [...seen.values()]
        .filter((e) => e.where.length > 1)
        .map((e) => `${JSON.stringify(e.value)} is used ${e.where.length} times where ${e.rule.parameter} must be unique (${e.rule.uniqueIn}): ${e.where.join(", ")} (${e.rule.source})`);
}
