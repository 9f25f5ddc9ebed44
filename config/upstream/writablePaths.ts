/**
 * What each image Dify runs writes to its own file system while it runs: the facts a read-only root file system (ECS
 * `readonlyRootFilesystem`, Checkov CKV_AWS_336, Security Hub ECS.5) has to leave room for. Read from upstream's
 * Dockerfiles, entrypoints and code at named commits, and from AWS's documentation; data, never a copy of upstream
 * code. The roles table (components/difyCluster/roles.ts) derives each role's writable task volumes from these rows,
 * and test/readOnlyRoot.test.ts holds the registered task definitions to them.
 *
 * Each image is either read-only (every path it writes is listed, with what happens to it here) or left writable,
 * with the reason.
 */

/** Where a fact was read: a file of a repository at a commit, or a documentation page. `what` says what in it. */
export type Source = { repo: string; path: string; commit: string; what: string; via?: string } | { url: string; what: string };

/**
 * What the deployment does about one path the image writes:
 * - `volume`: a writable task volume (Fargate bind mount on the task's ephemeral storage) at exactly this path; it
 *   starts empty;
 * - `seeded-volume`: the same, filled before the process starts with what the image ships at that path (its content,
 *   owner and mode), because the process needs it: a bind mount hides what the image has there;
 * - `replaced`: written by an upstream step this program replaces with its own command (the row says how); no volume
 *   here, and the replacement's own writes land in volumes of their own;
 * - `none`: not written in this deployment (the condition that writes it is not met, or the program's configuration
 *   turns the write off); no volume.
 */
export type Handling = "volume" | "seeded-volume" | "replaced" | "none";

export interface PathWrite {
    /** Absolute path in the container: the directory written (or the file, for `replaced` and `none` rows). */
    path: string;
    /** Who writes it, when, and why it matters. */
    what: string;
    handling: Handling;
    /** Why that handling (what a volume there would hide, what replaces the write, what turns it off). */
    why: string;
    sources: readonly Source[];
}

export interface ReadOnlyImage {
    readOnlyRoot: true;
    /** The image tags the rows were read for; `any` when the program's own command and configuration decide every write. */
    tags: readonly string[] | "any";
    /** The user the container's process starts as (a fresh task volume belongs to root, mode 0755). */
    runsAs: string;
    writes: readonly PathWrite[];
}

export interface WritableImage {
    readOnlyRoot: false;
    /** Why its root file system stays writable, and what making it read-only would take. */
    reason: string;
    sources: readonly Source[];
}

export type ImageRootFilesystem = ReadOnlyImage | WritableImage;

const DIFY = "langgenius/dify";
/** The langgenius/dify commits the release tables read (config/upstream/dify-<version>.ts), through the fork mirror. */
const DIFY_1_17 = "dfac3e524e02ea2874114d333ce5dd193e488c4e";
const DIFY_1_16_1 = "6f8ed69ee15f9a2e7189ca066275e973d091d1e9";
const VIA = "TrueFurina/dify (a fork mirror carrying upstream history)";
const dify = (path: string, what: string, commit = DIFY_1_17): Source => ({ repo: DIFY, path, commit, what, via: VIA });

/** langgenius/dify-sandbox at the 0.2.15 tag, the tag both releases' compose files pin. */
const SANDBOX_0_2_15 = "5631afef06ec88f80c28129aec7fd22a30006b14";
const sandbox = (path: string, what: string): Source => ({ repo: "langgenius/dify-sandbox", path, commit: SANDBOX_0_2_15, what });

/** squid-cache/squid at SQUID_6_6: the version of the default image ubuntu/squid:6.6-24.04_beta. */
const SQUID_6_6 = "e8118a7381213f5cfcdeb4cec1d2d854bfd261c8";
const squid = (path: string, what: string): Source => ({ repo: "squid-cache/squid", path, commit: SQUID_6_6, what });

const BIND_MOUNTS_DOC = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/bind-mounts.html";

/** AWS facts every read-only role relies on. */
export const FARGATE_FACTS = {
    /** A task volume with only a name is a bind mount on the task's ephemeral storage, shared by its containers, gone with the task. */
    taskVolume: {
        url: BIND_MOUNTS_DOC,
        what: "bind mounts on Fargate (platform 1.4.0+) use the task's ephemeral storage (20 GiB by default); the data is removed when the task stops; a volume with no host path is an empty data volume the task's containers can share",
    },
    /** Such a volume starts empty, owned by root with mode 0755, and hides whatever the image has at the mount path. */
    ownership: [
        { url: BIND_MOUNTS_DOC, what: "By default, the volume permissions are set to 0755 and the owner as root (quoted in aws/aws-cdk discussion #14063 and re:Post); only a Dockerfile VOLUME at the same path copies the image's content in" },
        { url: "https://github.com/aws/containers-roadmap/issues/938", what: "on Fargate 1.4.0 a bind mount is writable only by root, so a non-root container cannot write it" },
        { url: "https://docs.docker.com/engine/storage/bind-mounts/", what: "bind-mounting over existing data: the pre-existing files are obscured by the mount" },
    ] as readonly Source[],
    /** A one-shot container that must finish (exit 0) before the main container starts has to be non-essential. */
    dependsOnSuccess: {
        url: "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDependency.html",
        what: "SUCCESS: the dependency runs to completion and exits with a zero status; this condition can't be set on an essential container (Fargate platform 1.3.0 or later)",
    },
    /** ECS Exec does not support a read-only root file system. */
    ecsExec: {
        url: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html#ecs-exec-considerations",
        what: "The SSM agent requires that the container file system can be written to in order to create the required directories and files. Therefore, making the root file system read-only using the readonlyRootFilesystem task definition parameter, or any other method, isn't supported. (quoted in aws/containers-roadmap#2824, 2026-06-07; the community workaround mounts /managed-agents, /var/lib/amazon/ssm and /var/log/amazon/ssm, aws/containers-roadmap#1359, which AWS does not support)",
    },
} as const;

/**
 * Each image's root file system, by image repository (the default SSRF proxy image, ubuntu/squid, stands for
 * whichever squid image `ssrfProxyImage` names: the program's own command and squid.conf decide its writes).
 */
export const IMAGE_ROOT_FILESYSTEMS: Readonly<Record<string, ImageRootFilesystem>> = {
    "langgenius/dify-sandbox": {
        readOnlyRoot: true,
        tags: ["0.2.15"],
        runsAs: "root (no USER in the production Dockerfile; the server chroots and setuids each run)",
        writes: [
            {
                path: "/opt",
                what: "The entrypoint unpacks Node.js from the archive the image ships ($NODE_TAR_XZ, /opt/node-<version>-linux-<arch>.tar.xz) into /opt at every start, then deletes the archive.",
                handling: "replaced",
                why: "/opt also holds the Python the sandbox runs (/opt/python/bin/python3) and the archive itself, so a volume there would hide both. The task's command unpacks the same archive into a volume of its own and points NODEJS_PATH (which the server reads) at it.",
                sources: [
                    sandbox("docker/entrypoint.sh", "tar -xvf $NODE_TAR_XZ -C /opt; rm -f $NODE_TAR_XZ; then /main"),
                    sandbox("docker/templates/production.dockerfile", "wget -O /opt/node-…tar.xz; ENV NODE_TAR_XZ and NODE_DIR under /opt; ENTRYPOINT /entrypoint.sh"),
                    sandbox("internal/static/config.go", "NODEJS_PATH overrides the node binary (default /usr/local/bin/node); python_path default /opt/python/bin/python3"),
                ],
            },
            {
                path: "/usr/local/bin",
                what: "The entrypoint links $NODE_DIR/bin/node to /usr/local/bin/node, the server's default Node.js binary.",
                handling: "replaced",
                why: "The task's command sets NODEJS_PATH to the unpacked binary instead; /usr/local/bin holds the image's other programs.",
                sources: [sandbox("docker/entrypoint.sh", "mkdir -p /usr/local/bin/; ln -s $NODE_DIR/bin/node /usr/local/bin/node"), sandbox("internal/static/config.go", "NodejsPath from NODEJS_PATH, else /usr/local/bin/node")],
            },
            {
                path: "/var/sandbox",
                what: "At start the server rewrites /var/sandbox/sandbox-python/python.so and recreates /var/sandbox/sandbox-nodejs (nodejs.so and the Node.js project); it then copies (hard-links) every Python library path into the Python chroot /var/sandbox/sandbox-python, again every PYTHON_DEPS_UPDATE_INTERVAL (30 min by default); every Python run writes its bootstrap script to /var/sandbox/sandbox-python/tmp/.",
                handling: "seeded-volume",
                why: "The image ships the Python chroot already prepared at build time (the Dockerfile runs /env, which prepares it), and the server answers before its start-up copy finishes (`go initDependencies()`): an empty volume would fail every Python run for the minutes that copy takes. Across a mount the copy falls back from `ln -f` to `cp`, which rewrites the files in place.",
                sources: [
                    sandbox("internal/core/runner/python/setup.go", "LIB_PATH /var/sandbox/sandbox-python; init() removes and rewrites python.so"),
                    sandbox("internal/core/runner/nodejs/setup.go", "LIB_PATH /var/sandbox/sandbox-nodejs; init() RemoveAll, writes nodejs.so and the project"),
                    sandbox("internal/core/runner/python/env.go", "PreparePythonDependenciesEnv runs env.sh for every PythonLibPaths entry into LIB_PATH"),
                    sandbox("internal/core/runner/python/env.sh", "ln -f src dest, else cp and chmod 444"),
                    sandbox("internal/server/server.go", "go initDependencies() before initServer(); the ticker re-runs it every PythonDepsUpdateInterval"),
                    sandbox("internal/static/config.go", "PYTHON_DEPS_UPDATE_INTERVAL, default 30m"),
                    sandbox("internal/core/runner/python/python.go", "bootstrap script at LIB_PATH/tmp/<uuid>.py per run"),
                    sandbox("docker/templates/production.dockerfile", "RUN … && /env && rm -f /env (the build-time preparation, cmd/dependencies/init.go)"),
                ],
            },
            {
                path: "/tmp",
                what: "Every Node.js run gets a directory /tmp/sandbox-<uuid> with copies of the files it needs (its chroot); the Python environment preparation writes its script there at start.",
                handling: "volume",
                why: "Scratch space the server creates and removes; nothing from the image is needed there.",
                sources: [sandbox("internal/core/runner/temp_dir.go", "WithTempDir(basedir): mkdir basedir/tmp/sandbox-<uuid>, cp -r the listed files, chdir"), sandbox("internal/core/runner/nodejs/nodejs.go", "WithTempDir(\"/\", REQUIRED_FS, …)")],
            },
            {
                path: "/logs",
                what: "The server logs to <log_path>/app.log (100 MB files, 30 kept) and to stdout through one writer that stops at the first failing output: if the file cannot be written, nothing reaches stdout (CloudWatch) either. log_path is ./logs, relative to the working directory, /.",
                handling: "volume",
                why: "Without it the sandbox would log nothing at all. The working directory is / (the server reads conf/config.yaml relative to it and the image ships /conf/config.yaml).",
                sources: [
                    sandbox("conf/config.yaml", "log_path: \"./logs\""),
                    sandbox("internal/utils/log/core.go", "lumberjack <log path>/app.log, MaxSize 100, MaxBackups 30; io.MultiWriter(lumberjack, os.Stdout)"),
                    sandbox("docker/templates/production.dockerfile", "COPY conf/config.yaml /conf/config.yaml; no WORKDIR"),
                ],
            },
            {
                path: "/opt/python",
                what: "pip installs the packages of dependencies/python-requirements.txt into the interpreter at start (and on the refresh).",
                handling: "none",
                why: "Only when the list names packages; the image's list is empty at 0.2.15, so pip never runs.",
                sources: [sandbox("internal/core/runner/python/setup.go", "InstallDependencies returns at once for an empty list"), sandbox("dependencies/python-requirements.txt", "empty at 0.2.15")],
            },
        ],
    },
    "ubuntu/squid": {
        readOnlyRoot: true,
        tags: "any",
        runsAs: "root; squid switches to cache_effective_user (proxy) after reading its configuration, and its log daemon runs as that user",
        writes: [
            {
                path: "/etc/squid",
                what: "Upstream's entrypoint renders squid.conf and its includes (dify_common.conf, dify_sandbox_proxy.conf, dify_allow_private.conf) from templates into /etc/squid at every start.",
                handling: "replaced",
                why: "/etc/squid holds the image's own files squid reads (mime.conf, errorpage.css), which a volume would hide. The task's command writes the one generated squid.conf into a volume of its own.",
                sources: [dify("docker/ssrf_proxy/docker-entrypoint.sh", "expand_env … > /etc/squid/squid.conf and dify_common.conf; printf > $ALLOW_PRIVATE_CONF, $SANDBOX_PROXY_CONF"), dify("docker/ssrf_proxy/docker-agent-entrypoint.sh", "expand_env … > /etc/squid/squid.conf, dify_common.conf"), squid("src/Common.am", "DEFAULT_MIME_TABLE = $(sysconfdir)/mime.conf")],
            },
            {
                path: "/docker-entrypoint.sh",
                what: "Compose copies the mounted entrypoint to /docker-entrypoint.sh, strips carriage returns and runs it.",
                handling: "replaced",
                why: "The task runs its own command (SQUID_COMMAND) instead of upstream's entrypoint.",
                sources: [dify("docker/docker-compose.yaml", "ssrf_proxy and agent_ssrf_proxy entrypoint: cp /docker-entrypoint-mount.sh /docker-entrypoint.sh && sed -i … && /docker-entrypoint.sh")],
            },
            {
                path: "/etc/ssl/private",
                what: "Upstream's entrypoint re-creates the snakeoil TLS key and certificate when the key is missing (make-ssl-cert).",
                handling: "replaced",
                why: "The program's squid.conf has no TLS port and its command does not run make-ssl-cert.",
                sources: [dify("docker/ssrf_proxy/docker-entrypoint.sh", "make-ssl-cert generate-default-snakeoil --force-overwrite if /etc/ssl/private/ssl-cert-snakeoil.key is missing")],
            },
            {
                path: "/var/log/squid",
                what: "squid's cache.log and access log (written by the log daemon, as cache_effective_user); upstream's entrypoint and the task's command tail them to stdout.",
                handling: "volume",
                why: "The program's squid.conf names both files here; the task's command hands the fresh (root-owned) volume to squid's user before starting it.",
                sources: [
                    dify("docker/ssrf_proxy/squid-common.conf.template", "access_log daemon:/var/log/squid/access.log dify_log"),
                    dify("docker/ssrf_proxy/docker-entrypoint.sh", "tail -F /var/log/squid/access.log … cache.log"),
                    squid("src/cf.data.pre", "cache_log default @DEFAULT_CACHE_LOG@; access_log default daemon:@DEFAULT_ACCESS_LOG@"),
                    squid("src/Common.am", "DEFAULT_CACHE_LOG and DEFAULT_ACCESS_LOG under $(DEFAULT_LOG_PREFIX)"),
                ],
            },
            {
                path: "/var/spool/squid",
                what: "coredump_dir: squid chdir()s there at start and leaves core files there; its netdb journal (with ICMP support) is saved there periodically and at shutdown.",
                handling: "volume",
                why: "Upstream sets COREDUMP_DIR to /var/spool/squid and the program's squid.conf names it for both.",
                sources: [
                    dify("docker/docker-compose.yaml", "ssrf_proxy environment COREDUMP_DIR: ${SSRF_COREDUMP_DIR:-/var/spool/squid}"),
                    dify("docker/ssrf_proxy/squid-common.conf.template", "coredump_dir ${COREDUMP_DIR}"),
                    squid("src/cf.data.pre", "coredump_dir: Squid will chdir() to that directory at startup and coredump files will be left there; netdb_filename stdio:@DEFAULT_NETDB_FILE@ (IFDEF USE_ICMP)"),
                ],
            },
            {
                path: "/run/squid.pid",
                what: "squid writes its PID file (pid_filename), also in no-daemon mode (-N).",
                handling: "none",
                why: "The program's squid.conf sets pid_filename none.",
                sources: [squid("src/cf.data.pre", "pid_filename: A filename to write the process-id to. To disable, enter \"none\"."), squid("src/main.cc", "a master not in daemon mode calls Instance::WriteOurPid()"), squid("src/Instance.cc", "no PID file when pid_filename is none")],
            },
            {
                path: "/var/cache/squid",
                what: "A disk cache (cache_dir), created by `squid -z`, which upstream's entrypoint runs.",
                handling: "none",
                why: "squid has no disk cache unless cache_dir says so; the program's squid.conf sets none (and denies caching), and its command does not run squid -z.",
                sources: [squid("src/cf.data.pre", "cache_dir default none: No disk cache. Store cache objects only in memory."), dify("docker/ssrf_proxy/docker-entrypoint.sh", "/usr/sbin/squid -Nz")],
            },
            {
                path: "/var/run/squid",
                what: "SMP IPC sockets (the coordinator and its kids).",
                handling: "none",
                why: "Only with workers > 1; the program's squid.conf runs one process.",
                sources: [squid("src/ipc/Makefile.am", "DEFAULT_STATEDIR $(localstatedir)/run/squid"), squid("src/main.cc", "Ipc::Coordinator or Strand only when UsingSmp()")],
            },
        ],
    },
    "langgenius/dify-agent-local-sandbox": {
        readOnlyRoot: false,
        reason:
            "Not yet. It runs as the non-root user dify, and a fresh task volume belongs to root, so every writable path would need a root seeding step. Outside its EFS mounts (/home/dify, /workspace) it writes the agent drive (/mnt/drive/<ref>, pulled by the dify-agent CLI inside agent shells). At 1.16.1 every agent's HOME is /home/<agent_id> (DIFY_AGENT_SHELL_HOME_ROOT, default /home), also outside the EFS mounts, so a read-only root would break Agent v2 shells there. Agent shells also run arbitrary tools. Doing it needs an EFS access point (or a seeded volume) for /mnt/drive and a decision on /home at 1.16.1.",
        sources: [
            dify("dify-agent-runtime/docker/Dockerfile", "useradd dify; mkdir -p /mnt/drive; chown dify:dify /home; USER dify; WORKDIR /home/dify"),
            dify("dify-agent-runtime/internal/agentcli/drive.go", "drive pull: MkdirAll and WriteFile under the drive base"),
            dify("dify-agent/src/dify_agent/agent_stub/_constants.py", "DEFAULT_AGENT_STUB_DRIVE_BASE /mnt/drive"),
            dify("dify-agent/src/dify_agent/server/settings.py", "shell_home_root default /home (DIFY_AGENT_SHELL_HOME_ROOT)", DIFY_1_16_1),
            dify("dify-agent/src/dify_agent/layers/shell/layer.py", "HOME=<shell_home_root>/<agent_id>", DIFY_1_16_1),
            FARGATE_FACTS.ownership[0],
        ],
    },
    "langgenius/dify-api": {
        readOnlyRoot: false,
        reason:
            "Not audited. It runs as the non-root user dify (a fresh task volume belongs to root), and its writes are not all in the Dockerfile and entrypoint: beat keeps Celery's schedule file (celerybeat-schedule) in the working directory /app/api, since the entrypoint runs `celery beat` without --schedule; gunicorn, Celery and document extraction use temporary files.",
        sources: [dify("api/Dockerfile", "WORKDIR /app/api; USER dify"), dify("api/docker/entrypoint.sh", "MODE beat: exec celery -A app.celery beat --loglevel …")],
    },
    "langgenius/dify-web": {
        readOnlyRoot: false,
        reason: "Not audited. It runs as the non-root user dify (a fresh task volume belongs to root); what the Next.js server writes at run time was not read.",
        sources: [dify("web/Dockerfile", "USER dify; ENTRYPOINT ./entrypoint.sh"), dify("web/docker/entrypoint.sh", "exec node /app/targets/next/web/server.js")],
    },
    "langgenius/dify-plugin-daemon": {
        readOnlyRoot: false,
        reason:
            "Not audited. It installs plugins at run time: Python environments and package caches under its storage root (/app/storage; only the working path /app/storage/cwd is on EFS here), plus the installers' own caches and temporary files, which were not enumerated.",
        sources: [dify("docker/docker-compose.yaml", "plugin_daemon: volumes ./volumes/plugin_daemon:/app/storage; PLUGIN_STORAGE_LOCAL_ROOT /app/storage; PLUGIN_WORKING_PATH /app/storage/cwd")],
    },
    "langgenius/dify-agent-backend": {
        readOnlyRoot: false,
        reason: "Not audited. It runs as the non-root user dify and expects a writable storage directory (/app/api/storage) the image pre-creates for it; its other run-time writes were not read.",
        sources: [dify("dify-agent/Dockerfile", "storage is bind-mounted at runtime; pre-create it so the dify user can write; USER dify")],
    },
};
