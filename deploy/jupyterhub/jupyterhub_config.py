"""JupyterHub configuration of the gmmlab course on one machine (book/jupyterhub.md; setup.sh installs it).

Every person has a real local account and their own single-user server, running as them, from the course
environment. Roles are Hub groups (the names nbgrader's documentation uses for a course called gmmlab):

- ``nbgrader-gmmlab``: the students. They fetch and submit in the *Assignments* tab of their own server;
- ``formgrade-gmmlab``: instructors and teaching assistants. They reach the formgrader, the Hub-managed service
  ``gmmlab`` (a Jupyter server running as the course's grader account in the course directory);
- ``instructors-gmmlab``: instructors. They may also start autograding, the Hub-managed service
  ``gmmlab-autograde``, which runs the course's sandboxed grader as root (it needs throwaway uids).

Paths and ports come from environment variables (set in /etc/gmmlab-hub/env by setup.sh), with the one-machine
defaults below; tests/deploy/test_jupyterhub.py points them at a temporary machine.
"""

import os
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


def port(name, default):
    return int(os.environ.get(f"GMMLAB_HUB_{name}_PORT", default))


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
c.Spawner.environment = {"PATH": PATH, "JUPYTER_CONFIG_PATH": JUPYTER_CONFIG}
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
            "JUPYTER_CONFIG_PATH": f"{HERE / 'grader'}:{JUPYTER_CONFIG}",
            "JUPYTERHUB_DEFAULT_URL": "/formgrader",
        },
    },
    # Autograding: the course's sandboxed grader (gmmlab_course), run as root in the course directory
    {
        "name": f"{COURSE}-autograde",
        "url": f"http://127.0.0.1:{port('AUTOGRADE', 9998)}",
        "command": [str(BIN / "python"), str(HERE / "autograde_service.py")],
        "oauth_no_confirm": True,
        "environment": {"PATH": PATH, "GMMLAB_HUB_COURSE_ROOT": COURSE_ROOT,
                        "JUPYTER_CONFIG_PATH": JUPYTER_CONFIG},
    },
]

# ---- the site's own additions (TLS certificate, single sign-on, ...): setup.sh never overwrites this file
if (HERE / "jupyterhub_config.local.py").exists():
    load_subconfig(str(HERE / "jupyterhub_config.local.py"))  # noqa: F821 (provided by traitlets)

# ---- the administrator's API token (setup.sh writes it, mode 600): adding a class through the REST API
if ADMIN_TOKEN_FILE.exists():
    c.JupyterHub.services.append({"name": f"{COURSE}-admin", "api_token": ADMIN_TOKEN_FILE.read_text().strip()})
    c.JupyterHub.load_roles.append({"name": "admin", "services": [f"{COURSE}-admin"]})
