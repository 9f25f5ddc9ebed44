import * as pulumi from "@pulumi/pulumi";

/** The fake account the mocks answer for. Region comes from the stack's `aws:region`. */
export const ACCOUNT_ID = "123456789012";
export const DEFAULT_REGION = "ap-northeast-1";

/** What the program asked for: one entry per registered resource, in registration order. */
export interface RegisteredResource {
    type: string;
    name: string;
    /** Inputs with secrets unwrapped (their paths are listed in `secretPaths`). */
    inputs: Record<string, any>;
    /** Dotted paths of inputs that arrived as Pulumi secrets. */
    secretPaths: string[];
    custom: boolean;
    /** What the mock answered: inputs plus computed outputs (ids, ARNs, endpoints, generated values). */
    state: Record<string, any>;
    /** The physical id the mock answered (undefined for components), e.g. `sg-...` for a security group. */
    id: string | undefined;
    urn: string;
    /** URN of the parent resource ("" for the stack's direct children). */
    parent: string;
    protect: boolean;
    /** URNs this resource explicitly depends on (dependsOn and input dependencies). */
    dependencies: string[];
    /** Per input property, the URNs of the resources its value came from (what the engine hands the policy pack). */
    propertyDependencies: Record<string, string[]>;
    ignoreChanges: string[];
    deleteBeforeReplace: boolean;
    retainOnDelete: boolean;
    /** How many aliases (old names or parents) the resource declares. */
    aliasCount?: number;
    /** The customTimeouts option as the engine gets it ("" where none was given). */
    customTimeouts?: { create: string; update: string; delete: string };
}

export interface InvokeCall {
    token: string;
    inputs: Record<string, any>;
}

const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/**
 * What a value not known yet looks like in a recorded input during a preview: the engine's own encoding of an unknown
 * (`pulumi.runtime.unknownValue`), which is also what the policy pack receives and what its property proxy reports as
 * "can't be known during preview".
 */
export const PREVIEW_UNKNOWN: string = pulumi.runtime.unknownValue;

/** True when a recorded value is, or contains, a value unknown during preview. */
export function containsUnknown(value: unknown): boolean {
    if (value === PREVIEW_UNKNOWN) {
        return true;
    }
    if (Array.isArray(value)) {
        return value.some(containsUnknown);
    }
    if (value && typeof value === "object") {
        return Object.values(value).some(containsUnknown);
    }
    return false;
}

/** Unwraps secrets recursively, recording where they were; values unknown during preview become PREVIEW_UNKNOWN. */
export function unwrapSecrets(value: any, path: string, secretPaths: string[]): any {
    if (pulumi.isUnknown(value)) {
        return PREVIEW_UNKNOWN;
    }
    if (Array.isArray(value)) {
        return value.map((v, i) => unwrapSecrets(v, `${path}[${i}]`, secretPaths));
    }
    if (value && typeof value === "object") {
        if (value[pulumi.runtime.specialSigKey] === SECRET_SIG) {
            secretPaths.push(path);
            return unwrapSecrets(value.value, path, secretPaths);
        }
        const out: Record<string, any> = {};
        for (const [k, v] of Object.entries(value)) {
            out[k] = unwrapSecrets(v, path ? `${path}.${k}` : k, secretPaths);
        }
        return out;
    }
    return value;
}

function region(): string {
    return new pulumi.Config("aws").get("region") ?? DEFAULT_REGION;
}

function shortHash(s: string): string {
    let h = 2166136261;
    for (const c of s) {
        h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
    }
    return h.toString(16).padStart(8, "0");
}

/** The service part of an ARN for a type token such as `aws:rds/cluster:Cluster`. */
function serviceOf(type: string): string {
    const mod = type.split(":")[1]?.split("/")[0] ?? "resource";
    const map: Record<string, string> = { lb: "elasticloadbalancing", alb: "elasticloadbalancing", cloudwatch: "logs", vpc: "ec2" };
    return map[mod] ?? mod;
}

/** Ids shaped like AWS's for the types whose ids the program passes on (security groups, subnets, ...). */
function physicalId(type: string, name: string): string {
    const h = shortHash(`${type}/${name}`);
    const prefixes: Record<string, string> = {
        "aws:ec2/securityGroup:SecurityGroup": "sg-",
        "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce-",
        "aws:ec2/flowLog:FlowLog": "fl-",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr-",
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr-",
    };
    const prefix = prefixes[type];
    return prefix ? `${prefix}${h}${h.slice(0, 9)}` : `${name}-${h}`;
}

/** Outputs AWS would compute that the program reads, per resource type. */
function computedState(type: string, name: string, inputs: Record<string, any>): Record<string, any> {
    const r = region();
    const h = shortHash(`${type}/${name}`);
    const arn = `arn:aws:${serviceOf(type)}:${r}:${ACCOUNT_ID}:${type.split(":").pop()!.toLowerCase()}/${name}`;
    switch (type) {
        case "awsx:ec2:Vpc": {
            const n = inputs.numberOfAvailabilityZones ?? 3;
            const ids = (tier: string) => Array.from({ length: n }, (_, i) => `subnet-${tier}${i}${h}`.slice(0, 24));
            return { vpcId: `vpc-${h}${h}`.slice(0, 21), publicSubnetIds: ids("a"), privateSubnetIds: ids("b"), isolatedSubnetIds: ids("c") };
        }
        case "aws:kms/key:Key":
            return { arn: `arn:aws:kms:${r}:${ACCOUNT_ID}:key/${h}-0000-4000-8000-${h}0000`, keyId: `${h}-0000-4000-8000-${h}0000` };
        case "aws:cloudwatch/logGroup:LogGroup":
            return { arn: `arn:aws:logs:${r}:${ACCOUNT_ID}:log-group:${inputs.name ?? name}` };
        case "aws:iam/role:Role":
            return { arn: `arn:aws:iam::${ACCOUNT_ID}:role/${inputs.name ?? name}`, name: inputs.name ?? name, uniqueId: `AROA${h}` };
        case "aws:ec2/securityGroup:SecurityGroup":
            return { arn: `arn:aws:ec2:${r}:${ACCOUNT_ID}:security-group/sg-${h}`, name: inputs.name ?? name };
        case "aws:rds/cluster:Cluster": {
            const cid = inputs.clusterIdentifier ?? name;
            return {
                arn: `arn:aws:rds:${r}:${ACCOUNT_ID}:cluster:${cid}`,
                clusterIdentifier: cid,
                clusterResourceId: `cluster-${h.toUpperCase()}`,
                endpoint: `${cid}.cluster-c${h}.${r}.rds.amazonaws.com`,
                readerEndpoint: `${cid}.cluster-ro-c${h}.${r}.rds.amazonaws.com`,
                port: inputs.port ?? 5432,
            };
        }
        case "aws:rds/clusterInstance:ClusterInstance": {
            const iid = inputs.identifier ?? name;
            return { arn: `arn:aws:rds:${r}:${ACCOUNT_ID}:db:${iid}`, identifier: iid, endpoint: `${iid}.c${h}.${r}.rds.amazonaws.com` };
        }
        case "aws:elasticache/replicationGroup:ReplicationGroup": {
            const gid = inputs.replicationGroupId ?? name;
            return {
                arn: `arn:aws:elasticache:${r}:${ACCOUNT_ID}:replicationgroup:${gid}`,
                primaryEndpointAddress: `master.${gid}.${h}.apne1.cache.amazonaws.com`,
                readerEndpointAddress: `replica.${gid}.${h}.apne1.cache.amazonaws.com`,
                port: inputs.port ?? 6379,
                // ElastiCache names a cluster-mode-disabled group's nodes <group id>-001, -002, ...
                memberClusters: Array.from({ length: inputs.numCacheClusters ?? 1 }, (_, i) => `${gid}-${String(i + 1).padStart(3, "0")}`),
                clusterEnabled: false,
            };
        }
        case "aws:s3/bucket:Bucket":
        case "aws:s3/bucketV2:BucketV2": {
            const bucket = inputs.bucket ?? `${inputs.bucketPrefix ?? name}-${h}`;
            return { arn: `arn:aws:s3:::${bucket}`, bucket, bucketRegionalDomainName: `${bucket}.s3.${r}.amazonaws.com` };
        }
        case "aws:lb/loadBalancer:LoadBalancer": {
            const lbName = inputs.name ?? `${inputs.namePrefix ?? name}-${h}`.slice(0, 32);
            return {
                arn: `arn:aws:elasticloadbalancing:${r}:${ACCOUNT_ID}:loadbalancer/app/${lbName}/${h}${h}`,
                arnSuffix: `app/${lbName}/${h}${h}`,
                dnsName: `${lbName}-${h}.${r}.elb.amazonaws.com`,
                zoneId: "Z14GRHDCWA56QT",
                name: lbName,
            };
        }
        case "aws:lb/targetGroup:TargetGroup": {
            const tgName = inputs.name ?? `${inputs.namePrefix ?? name}${h}`.slice(0, 32);
            return {
                arn: `arn:aws:elasticloadbalancing:${r}:${ACCOUNT_ID}:targetgroup/${tgName}/${h}${h}`,
                arnSuffix: `targetgroup/${tgName}/${h}${h}`,
                name: tgName,
            };
        }
        case "aws:lb/listener:Listener":
            return { arn: `arn:aws:elasticloadbalancing:${r}:${ACCOUNT_ID}:listener/app/${name}/${h}/${h}` };
        case "aws:acm/certificate:Certificate":
            return {
                arn: `arn:aws:acm:${r}:${ACCOUNT_ID}:certificate/${h}-0000-4000-8000-${h}0000`,
                domainValidationOptions: [inputs.domainName, ...(inputs.subjectAlternativeNames ?? [])].map((d: string) => ({
                    domainName: d,
                    resourceRecordName: `_${h}.${d}.`,
                    resourceRecordType: "CNAME",
                    resourceRecordValue: `_${h}.acm-validations.aws.`,
                })),
            };
        case "aws:secretsmanager/secretVersion:SecretVersion": {
            // Secrets Manager gives every stored value a new version id (a UUID): a changed value is a new id.
            const v = shortHash(JSON.stringify(inputs.secretString ?? inputs.secretBinary ?? ""));
            return { versionId: `${v}-0000-4000-8000-${v}${v.slice(0, 4)}`, arn: inputs.secretId };
        }
        case "aws:secretsmanager/secret:Secret":
            return { arn: `arn:aws:secretsmanager:${r}:${ACCOUNT_ID}:secret:${inputs.name ?? name}-AbCdEf` };
        case "aws:ecs/cluster:Cluster":
            return { arn: `arn:aws:ecs:${r}:${ACCOUNT_ID}:cluster/${inputs.name ?? name}`, name: inputs.name ?? name };
        case "aws:ecs/service:Service":
            return { arn: `arn:aws:ecs:${r}:${ACCOUNT_ID}:service/${inputs.name ?? name}`, name: inputs.name ?? name };
        case "aws:ecs/taskDefinition:TaskDefinition":
            return {
                arn: `arn:aws:ecs:${r}:${ACCOUNT_ID}:task-definition/${inputs.family ?? name}:1`,
                arnWithoutRevision: `arn:aws:ecs:${r}:${ACCOUNT_ID}:task-definition/${inputs.family ?? name}`,
                revision: 1,
            };
        case "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace":
        case "aws:servicediscovery/httpNamespace:HttpNamespace":
            return { arn: `arn:aws:servicediscovery:${r}:${ACCOUNT_ID}:namespace/ns-${h}`, hostedZone: `Z${h.toUpperCase()}` };
        case "aws:sns/topic:Topic":
            return { arn: `arn:aws:sns:${r}:${ACCOUNT_ID}:${inputs.name ?? name}` };
        case "aws:cloudwatch/metricAlarm:MetricAlarm":
            return { arn: `arn:aws:cloudwatch:${r}:${ACCOUNT_ID}:alarm:${inputs.name ?? name}` };
        case "aws:cloudwatch/dashboard:Dashboard":
            return { dashboardArn: `arn:aws:cloudwatch::${ACCOUNT_ID}:dashboard/${inputs.dashboardName ?? name}` };
        case "aws:wafv2/webAcl:WebAcl":
            return { arn: `arn:aws:wafv2:${r}:${ACCOUNT_ID}:regional/webacl/${inputs.name ?? name}/${h}` };
        case "aws:route53/record:Record":
            return { fqdn: String(inputs.name ?? name).replace(/\.$/, "") };
        case "random:index/randomId:RandomId": {
            // Deterministic bytes of the requested length, rendered the ways the provider does.
            const bytes = Array.from({ length: inputs.byteLength ?? 8 }, (_, i) => parseInt(h.slice((i * 2) % 8, ((i * 2) % 8) + 2), 16));
            const hex = bytes.map((b) => b.toString(16).padStart(2, "0")).join("");
            return { hex: `${inputs.prefix ?? ""}${hex}`, b64Url: Buffer.from(bytes).toString("base64url"), b64Std: Buffer.from(bytes).toString("base64"), dec: BigInt(`0x${hex}`).toString() };
        }
        case "random:index/randomPassword:RandomPassword":
        case "random:index/randomString:RandomString":
            return { result: mockRandom(inputs) };
        default:
            return { arn };
    }
}

/** A deterministic value that honours the generator's length and character set, as random would. */
function mockRandom(inputs: Record<string, any>): string {
    const length = inputs.length ?? 32;
    let alphabet = "";
    if (inputs.upper !== false) alphabet += "ABCDEFGHJKLMNPQRSTUVWXYZ";
    if (inputs.lower !== false) alphabet += "abcdefghijkmnopqrstuvwxyz";
    if (inputs.numeric !== false) alphabet += "23456789";
    if (inputs.special !== false) alphabet += inputs.overrideSpecial ?? "!@#$%&*()-_=+[]{}<>:?";
    let out = "";
    let x = length * 7919;
    for (let i = 0; i < length; i++) {
        x = (x * 1103515245 + 12345) >>> 0;
        out += alphabet[x % alphabet.length];
    }
    return out;
}

/** Converts the provider's getPolicyDocument statement schema into IAM JSON, as the provider does. */
function policyDocument(inputs: Record<string, any>): Record<string, any> {
    const statements = (inputs.statements ?? []).map((s: Record<string, any>) => {
        const out: Record<string, any> = { Effect: s.effect ?? "Allow" };
        if (s.sid) out.Sid = s.sid;
        if (s.actions) out.Action = s.actions;
        if (s.notActions) out.NotAction = s.notActions;
        if (s.resources) out.Resource = s.resources;
        if (s.principals) {
            out.Principal = Object.fromEntries(s.principals.map((p: any) => [p.type, p.identifiers]));
        }
        if (s.conditions) {
            out.Condition = {};
            for (const c of s.conditions) {
                out.Condition[c.test] = { ...(out.Condition[c.test] ?? {}), [c.variable]: c.values };
            }
        }
        return out;
    });
    const json = JSON.stringify({ Version: "2012-10-17", Statement: statements });
    return { json, minifiedJson: json, id: shortHash(json) };
}

/** Invoke results, by token. An unknown token fails the run so an unmocked lookup is never silently empty. */
function invokeResult(token: string, inputs: Record<string, any>): Record<string, any> {
    const r = region();
    switch (token) {
        case "aws:index/getAvailabilityZones:getAvailabilityZones":
            return { names: ["a", "c", "d"].map((z) => `${r}${z}`), zoneIds: ["apne1-az4", "apne1-az1", "apne1-az2"], id: r };
        case "aws:index/getCallerIdentity:getCallerIdentity":
            return { accountId: ACCOUNT_ID, arn: `arn:aws:iam::${ACCOUNT_ID}:user/ci`, userId: "AIDAEXAMPLE", id: ACCOUNT_ID };
        case "aws:index/getRegion:getRegion":
            return { region: r, name: r, id: r, description: r, endpoint: `ec2.${r}.amazonaws.com` };
        case "aws:index/getPartition:getPartition":
            return { partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws", id: "aws" };
        case "aws:iam/getPolicyDocument:getPolicyDocument":
            return policyDocument(inputs);
        case "aws:ec2/getRouteTables:getRouteTables": {
            const filter = inputs.filters?.[0] ?? {};
            if (filter.name === "association.main") {
                return { ids: [`rtb-main${shortHash(inputs.vpcId)}`], id: inputs.vpcId };
            }
            // Adopted subnets whose id ends in "f" stand for subnets left on the VPC's main route table: no explicit
            // association, so a lookup by subnet association finds nothing for them (as in AWS).
            const subnets: string[] = (filter.values ?? []).filter((s: string) => !s.endsWith("f"));
            return { ids: subnets.map((s) => `rtb-${shortHash(s)}`), id: inputs.vpcId };
        }
        case "aws:ec2/getPrefixList:getPrefixList": {
            // AWS-managed prefix lists by name: the S3 gateway endpoint's (pl-61a54008 in ap-northeast-1, another id
            // per region). Any other name is not a managed list and fails the run, as the lookup would.
            const m = /^com\.amazonaws\.([a-z0-9-]+)\.s3$/.exec(inputs.name ?? "");
            if (!m || m[1] !== r) {
                throw new Error(`no managed prefix list named ${inputs.name} in ${r}`);
            }
            const id = r === DEFAULT_REGION ? "pl-61a54008" : `pl-${shortHash(inputs.name)}`;
            return { id, name: inputs.name, cidrBlocks: ["52.219.0.0/20", "3.5.152.0/21", "52.92.60.0/22"] };
        }
        case "aws:ec2/getVpc:getVpc":
            return { id: inputs.id, cidrBlock: "10.90.0.0/16", arn: `arn:aws:ec2:${r}:${ACCOUNT_ID}:vpc/${inputs.id}` };
        case "aws:ec2/getSubnet:getSubnet":
            return { id: inputs.id, availabilityZone: `${r}${"acd"[parseInt(shortHash(inputs.id), 16) % 3]}` };
        case "aws:elb/getServiceAccount:getServiceAccount":
            // The ELB account of ap-northeast-1; other regions differ (the program must look it up, not hard-code it).
            return { id: "582318560864", arn: "arn:aws:iam::582318560864:root" };
        case "aws:route53/getZone:getZone":
            return { zoneId: inputs.zoneId ?? "Z0123456789ABCDEFGHIJ", name: inputs.name ?? "example.com", id: inputs.zoneId ?? "Z0123456789ABCDEFGHIJ" };
        default:
            throw new Error(`test/mocks.ts has no mock for invoke ${token}: add one with a realistic result`);
    }
}

/**
 * A registration record with the defaults of a resource registered without options: what newResource records before
 * test/setup.ts fills in the options, and what a test needs to hand-build a resource for the policy pack.
 */
export function registeredResource(r: Pick<RegisteredResource, "type" | "name" | "inputs"> & Partial<RegisteredResource>): RegisteredResource {
    return {
        secretPaths: [],
        custom: true,
        state: {},
        id: undefined,
        urn: "",
        parent: "",
        protect: false,
        dependencies: [],
        propertyDependencies: {},
        ignoreChanges: [],
        deleteBeforeReplace: false,
        retainOnDelete: false,
        ...r,
    };
}

/**
 * Collects every registration and invoke; reset before each program run.
 *
 * Two modes. As `pulumi up` would end: every computed output (ids, ARNs, endpoints, generated values) is answered.
 * As the `pulumi preview` of a new stack (`preview` true): what the engine knows before anything exists, i.e. the
 * inputs that were given, and every computed output (and the id) unknown; the program then sees unknown Outputs
 * wherever it reads one, exactly as in a real first preview.
 */
export class RecordingMocks implements pulumi.runtime.Mocks {
    resources: RegisteredResource[] = [];
    invokes: InvokeCall[] = [];
    preview = false;

    reset(preview = false): void {
        this.resources = [];
        this.invokes = [];
        this.preview = preview;
    }

    newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: Record<string, any> } {
        const secretPaths: string[] = [];
        const inputs = unwrapSecrets(args.inputs, "", secretPaths);
        const computed = computedState(args.type, args.name, inputs);
        if (this.preview) {
            // Outputs that were given as (known) inputs echo them; everything the provider computes is unknown.
            const state: Record<string, any> = { ...inputs };
            for (const key of Object.keys(computed)) {
                if (inputs[key] === undefined || containsUnknown(inputs[key])) {
                    state[key] = PREVIEW_UNKNOWN;
                }
            }
            this.resources.push(registeredResource({ type: args.type, name: args.name, inputs, secretPaths, custom: args.custom ?? true, state, id: undefined }));
            // An empty id is how the engine says "not known yet" for a resource still to be created.
            return { id: args.custom ? "" : undefined, state };
        }
        const id = args.custom ? physicalId(args.type, args.name) : undefined;
        const state = { ...inputs, ...computed };
        this.resources.push(registeredResource({ type: args.type, name: args.name, inputs, secretPaths, custom: args.custom ?? true, state, id }));
        return { id, state };
    }

    call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
        const secretPaths: string[] = [];
        const inputs = unwrapSecrets(args.inputs, "", secretPaths);
        this.invokes.push({ token: args.token, inputs });
        return invokeResult(args.token, inputs);
    }
}
