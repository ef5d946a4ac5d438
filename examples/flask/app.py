"""A minimal app whose configuration comes from the environment secretexec builds."""
import os

from flask import Flask

app = Flask(__name__)
# Set by secretexec from /auraxis/prod/SECRET_KEY; a missing one fails at start, not at runtime.
app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]

DATABASE_URL = "postgresql://{user}:{password}@{host}:{port}/{name}".format(
    user=os.environ["DB_USER"],
    password=os.environ["DB_PASS"],
    host=os.environ["DB_HOST"],
    port=os.environ.get("DB_PORT", "5432"),
    name=os.environ["DB_NAME"],
)


@app.get("/healthz")
def healthz():
    # Names only: never return a secret's value.
    wanted = ["SECRET_KEY", "DB_HOST", "DB_USER", "DB_PASS", "DB_NAME"]
    return {"ok": True, "configured": sorted(n for n in wanted if os.environ.get(n))}
