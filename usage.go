package main

const usage = `secretexec fetches secrets from AWS SSM Parameter Store and Secrets Manager, puts them in
the environment and replaces itself with COMMAND, so the secrets never touch disk.

Usage:
  secretexec [flags] [--] COMMAND [ARG...]    fetch, merge, exec COMMAND
  secretexec [flags] --output FILE            fetch and write FILE, no command
  secretexec [flags] --dry-run [-- COMMAND]   show names, sources and decisions; no values

Sources (repeatable, applied in order: a later source wins):
  --ssm-path PATH        every parameter directly under PATH; variable = name below PATH
  --recursive            also parameters nested below each --ssm-path (/ becomes _)
  --secret-id ID         a Secrets Manager secret (name or ARN) holding a JSON object:
                         one variable per key
  --secret-id NAME=ID    the whole secret string in variable NAME

Flags:
  --backend ssm|secretsmanager
                         accepted for sync_cloud_secrets.py compatibility; checks that a
                         matching source is given
  --region R             AWS region (default: AWS_REGION, the profile, a secret's ARN,
                         then instance metadata)
  --output FILE          also write the variables to FILE (mode 0600, atomic)
  --format F             dotenv (default), export or json
  --no-override          an inherited non-empty variable keeps its value
  --allow-empty          an --ssm-path or JSON secret with nothing in it is not an error
  --timeout D            one deadline for all fetching (default 30s)
  --retries N            attempts per AWS request for throttling, 5xx, resets (default 10)
  --resolve-arns         also resolve bare SSM and Secrets Manager ARNs in variables
  --init                 stay as PID 1: run COMMAND as a child, forward signals, reap zombies
  --watch D              implies --init: check the sources every D (1s or more; the first
                         check at a random point of the first D, then D ±10%) and apply a
                         change as --on-change says; a failed check changes nothing
  --on-change A          restart (default): stop COMMAND, start it with the new values;
                         exit: stop COMMAND and exit with status 75; SIGNAL (e.g. SIGHUP):
                         rewrite --output FILE and send COMMAND that signal
  --stop-signal S        how COMMAND is stopped for a restart or exit (default SIGTERM)
  --stop-timeout D       SIGKILL after D if it has not stopped (default 10s)
  --dry-run              fetch and show the plan, run nothing, print no value
  --verbose              say what is fetched and decided (names only) on stderr
  --quiet                print errors only
  --version              print the version
  --help                 print this help

Every flag has an environment twin: --ssm-path is SECRETEXEC_SSM_PATH (a comma-separated
list for repeatable flags). A flag beats its twin. SECRETEXEC_DISABLE=1 skips fetching.
SECRETEXEC_* variables never reach COMMAND.

References in environment values are replaced by what they name: ssm://NAME[:VERSION|:LABEL]
(NAME a parameter name or ARN), sm://ID[#KEY] (ID a secret name or ARN), and with
--resolve-arns the ECS valueFrom ARNs arn:aws:ssm:...:parameter/NAME and
arn:aws:secretsmanager:...:secret:NAME[:JSON_KEY:VERSION_STAGE:VERSION_ID].

Exit status: COMMAND's own once it runs; 125 secretexec failed (nothing was run);
126 COMMAND not executable; 127 COMMAND not found; 128+N signal N arrived while fetching;
75 --on-change exit stopped COMMAND after a change.
`
