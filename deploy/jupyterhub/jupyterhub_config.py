"""JupyterHub configuration of the gmmlab course on one machine (book/jupyterhub.md; setup.sh installs it).

Every person has a real local account and their own single-user server, running as them, from the course
environment. Roles are Hub groups (the names nbgrader's documentation uses for a course called gmmlab):

- ``nbgrader-gmmlab``: the students. They fetch and submit in the *Assignments* tab of their own server;
- ``formgrade-gmmlab``: instructors and teaching assistants. They reach the formgrader, the Hub-managed service
  ``gmmlab`` (a Jupyter server running as the course's grader account in the course directory);
- ``instructors-gmmlab``: instructors. They may also start autograding, the Hub-managed service
  ``gmmlab-autograde``, which runs the course's sandboxed grader as root (it needs throwaway uids).

Teaching assistants reach the formgrader read-only apart from grading (no terminal, no kernel, no file writes:
``gmmlab_hub.StaffAuthorizer``); every grade change is signed in the gradebook's audit table (gmmlab_hub).

Paths, ports and limits come from environment variables (set in /etc/gmmlab-hub/env by setup.sh), with the
one-machine defaults below; tests/deploy/test_jupyterhub.py points them at a temporary machine.
"""

import os
import subprocess
from pathlib import Path

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

COURSE = "gmmlab"
HERE = Path(__file__).resolve().parent
PREFIX = Path(os.environ.get("GMMLAB_HUB_PREFIX", "/opt/gmmlab-hub"))  # install-env.sh: venv/ and proxy/
BIN = PREFIX / "venv" / "bin"
COURSE_ROOT = os.environ.get("GMMLAB_HUB_COURSE_ROOT", "/srv/gmmlab/course")  # owned by the grader account
GRADER = os.environ.get("GMMLAB_HUB_GRADER", "grader-gmmlab")  # the account the formgrader runs as
HOMES = os.environ.get("GMMLAB_HUB_HOMES", "/home")  # where the Hub creates new accounts' homes
JUPYTER_CONFIG = os.environ.get("GMMLAB_HUB_JUPYTER_CONFIG", "/etc/jupyter")  # the system-wide nbgrader config
ADMIN_TOKEN_FILE = Path(os.environ.get("GMMLAB_HUB_ADMIN_TOKEN_FILE", "/etc/gmmlab-hub/admin-token"))
PATH = f"{BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LIB = str(HERE / "lib")  # gmmlab_hub.py, root's
MEM_LIMIT = os.environ.get("GMMLAB_HUB_MEM_LIMIT", "2G")
CPU_LIMIT = float(os.environ.get("GMMLAB_HUB_CPU_LIMIT", "1"))
NPROC = int(os.environ.get("GMMLAB_HUB_NPROC", "512"))
FSIZE = os.environ.get("GMMLAB_HUB_FSIZE", "100M")
SYSTEMD = os.environ.get("GMMLAB_HUB_SYSTEMD", "1") == "1" and Path("/run/systemd/system").is_dir()


def port(name, default):
    return int(os.environ.get(f"GMMLAB_HUB_{name}_PORT", default))


def size(text):
    """Bytes in a size such as 2G or 100M (powers of 1024, as systemd reads them): prlimit takes bytes only."""
    units = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    number, unit = text[:-1] if text[-1:].isalpha() else text, text[-1:].upper() if text[-1:].isalpha() else ""
    if unit not in units or not number.isdigit():
        raise ValueError(f"not a size: {text!r} (write it as 2G, 500M or a number of bytes)")
    return int(number) * units[unit]


# ---- the Hub and its proxy (configurable-http-proxy from npm, deploy/jupyterhub/package-lock.json)
c.JupyterHub.bind_url = os.environ.get("GMMLAB_HUB_URL", "http://127.0.0.1:8000")  # TLS: see book/jupyterhub.md
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = port("API", 8081)
c.ConfigurableHTTPProxy.command = [str(PREFIX / "proxy" / "node_modules" / ".bin" / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{port('PROXY_API', 8001)}"
c.JupyterHub.cleanup_servers = True  # a restarted Hub starts every server afresh

# ---- people: local accounts, passwords checked by PAM; an admin adding a user creates the account
c.JupyterHub.authenticator_class = "pam"
c.LocalAuthenticator.create_system_users = True
c.LocalAuthenticator.add_user_cmd = [
    "useradd", "--create-home", "--base-dir", HOMES, "--key", "HOME_MODE=0700", "--shell", "/bin/bash",
    "--user-group",
]  # a home only its owner can open: students cannot read each other's work
c.Authenticator.allow_existing_users = True  # whoever an admin added may log in; nobody else
c.Authenticator.admin_users = set(filter(None, os.environ.get("GMMLAB_HUB_ADMINS", "").split(",")))

# ---- every user's server: the course environment, the system-wide nbgrader configuration (exchange, course id)
c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
threads = str(max(1, int(CPU_LIMIT)))  # numpy's BLAS and scikit-learn use this many threads, not every core
c.Spawner.environment = {"PATH": PATH, "JUPYTER_CONFIG_PATH": JUPYTER_CONFIG, "OMP_NUM_THREADS": threads,
                         "OPENBLAS_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}

# ---- limits per user, and nothing of a user's left running once their server stops
if SYSTEMD:
    # each server is a systemd unit with its own cgroup: memory and CPU for the whole server with its kernels,
    # and stopping the unit kills every process in it (a `setsid nohup` one included)
    c.JupyterHub.spawner_class = "systemdspawner.SystemdSpawner"
    c.SystemdSpawner.mem_limit = MEM_LIMIT
    c.SystemdSpawner.cpu_limit = CPU_LIMIT
    c.SystemdSpawner.isolate_tmp = True
    c.SystemdSpawner.disable_user_sudo = True
    c.SystemdSpawner.unit_extra_properties = {"TasksMax": str(NPROC), "LimitFSIZE": FSIZE,
                                              "ProtectProc": "invisible"}
else:
    # without systemd: kernel resource limits (prlimit) on the server and all it starts: the memory a process
    # allocates (RLIMIT_DATA), processes and threads per user (RLIMIT_NPROC counts all the account's), the size of
    # a file
    c.Spawner.cmd = ["prlimit", f"--data={size(MEM_LIMIT)}", f"--nproc={NPROC}", f"--fsize={size(FSIZE)}", "--",
                     *c.Spawner.cmd]

    def kill_leftovers(spawner):
        """The server has stopped: end every process its user still has (on this Hub, a user's processes all
        come from their server), so that none outlives it."""
        subprocess.run(["pkill", "-KILL", "-u", spawner.user.name], check=False)

    c.Spawner.post_stop_hook = kill_leftovers
c.Spawner.start_timeout = 300  # generous: a busy machine starting a class's servers at once is slow, not broken
c.Spawner.http_timeout = 300

# ---- groups and what they may reach (nbgrader's "Using nbgrader with JupyterHub": formgrade-<course>)
c.JupyterHub.load_groups = {
    f"nbgrader-{COURSE}": {"users": []},
    f"formgrade-{COURSE}": {"users": []},
    f"instructors-{COURSE}": {"users": []},
}
c.JupyterHub.load_roles = [
    {
        "name": f"formgrade-{COURSE}",
        "groups": [f"formgrade-{COURSE}"],
        "scopes": [f"access:services!service={COURSE}", "list:services", f"read:services!service={COURSE}"],
    },
    {
        "name": f"autograde-{COURSE}",
        "groups": [f"instructors-{COURSE}"],
        "scopes": [f"access:services!service={COURSE}-autograde", f"read:services!service={COURSE}-autograde"],
    },
    {   # jupyterhub-idle-culler (its README's scopes)
        "name": "idle-culler",
        "services": ["idle-culler"],
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
    },
]

# ---- the formgrader: a Jupyter server as the grader account, in the course directory (nbgrader's pattern)
c.JupyterHub.services = [
    {
        "name": COURSE,
        "url": f"http://127.0.0.1:{port('FORMGRADER', 9999)}",
        "command": [str(BIN / "jupyterhub-singleuser")],
        "user": GRADER,
        "cwd": COURSE_ROOT,
        "oauth_no_confirm": True,
        "environment": {
            "PATH": PATH,
            # grader/ turns the formgrader and assignment creation on (install-env.sh turns them off for students)
            # and gmmlab_hub's authorizer and grade audit (from LIB)
            "JUPYTER_CONFIG_PATH": f"{HERE / 'grader'}:{JUPYTER_CONFIG}",
            "PYTHONPATH": LIB,
            "JUPYTERHUB_DEFAULT_URL": "/formgrader",
        },
    },
    # Autograding: the course's sandboxed grader (gmmlab_course), run as root in the course directory
    {
        "name": f"{COURSE}-autograde",
        "url": f"http://127.0.0.1:{port('AUTOGRADE', 9998)}",
        "command": [str(BIN / "python"), str(HERE / "autograde_service.py")],
        "oauth_no_confirm": True,
        "environment": {"PATH": PATH, "GMMLAB_HUB_COURSE_ROOT": COURSE_ROOT, "PYTHONPATH": LIB,
                        "JUPYTER_CONFIG_PATH": JUPYTER_CONFIG},
    },
    # servers without activity for GMMLAB_HUB_CULL_TIMEOUT seconds are stopped (their users' work is saved)
    {
        "name": "idle-culler",
        "command": [str(BIN / "python"), "-m", "jupyterhub_idle_culler",
                    f"--timeout={int(os.environ.get('GMMLAB_HUB_CULL_TIMEOUT', '3600'))}"],
    },
]

# ---- the site's own additions (TLS certificate, single sign-on, ...): setup.sh never overwrites this file
if (HERE / "jupyterhub_config.local.py").exists():
    load_subconfig(str(HERE / "jupyterhub_config.local.py"))  # noqa: F821 (provided by traitlets)

# ---- the administrator's API token (setup.sh writes it, mode 600): adding a class through the REST API
if ADMIN_TOKEN_FILE.exists():
    c.JupyterHub.services.append({"name": f"{COURSE}-admin", "api_token": ADMIN_TOKEN_FILE.read_text().strip()})
    c.JupyterHub.load_roles.append({"name": "admin", "services": [f"{COURSE}-admin"]})

# ---- the metrics token (setup.sh writes it, mode 600): Prometheus scrapes /hub/metrics with it, and nothing else
if (HERE / "metrics-token").exists():
    c.JupyterHub.services.append({"name": f"{COURSE}-metrics", "api_token": (HERE / "metrics-token").read_text().strip()})
    c.JupyterHub.load_roles.append({"name": "metrics", "services": [f"{COURSE}-metrics"], "scopes": ["read:metrics"]})
