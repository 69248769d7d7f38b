"""A user's own HTTP app, mounted through `http.app`."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/custom/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}
