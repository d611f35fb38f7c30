"""Drives a sandpod gateway's /judge0 API with the official Judge0 Python SDK, as a user would.

Usage: judge0_client.py ENDPOINT TOKEN; prints one JSON object of what the SDK saw.
"""

import json
import sys

import judge0

PYTHON, C = 71, 50


def seen(submission):
    return {
        "token": str(submission.token),
        "status": int(submission.status),
        "stdout": submission.stdout,
        "stderr": submission.stderr,
        "compile_output": submission.compile_output,
        "exit_code": submission.exit_code,
        "time": submission.time,
        "memory": submission.memory,
    }


def main():
    endpoint, token = sys.argv[1], sys.argv[2]
    client = judge0.Client(endpoint, headers={"X-Auth-Token": token})
    report = {
        "languages": [{"id": lang.id, "name": lang.name} for lang in client.languages],
        "config_max_batch": client.config.max_submission_batch_size,
        "about_version": client.get_about()["version"],
        "statuses": client.get_statuses(),
        "language_71": client.get_language(PYTHON).name,
    }
    report["run"] = seen(
        judge0.run(client=client, source_code="print('hi', input())", language=PYTHON, stdin="sandpod")
    )
    report["compile_error"] = seen(
        judge0.run(client=client, source_code="int main( { return 0; }", language=C)
    )
    report["time_limit"] = seen(
        judge0.run(client=client, source_code="while True:\n    pass\n", language=PYTHON, cpu_time_limit=1)
    )
    judged = judge0.run(
        client=client,
        source_code="print(int(input()) * 2)",
        language=PYTHON,
        test_cases=[("2", "4"), ("3", "7")],
    )
    report["judged"] = [seen(submission) for submission in judged]
    print(json.dumps(report))


main()
