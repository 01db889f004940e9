"""Reads generated Python starter code with Python's own tokenizer and compiler.

Usage: python_token_check.py MARKER FILE...
Prints one JSON object per file: the tokens outside string literals and comments that hold
MARKER (site text that became code), the values of the string literals, and the first error of
tokenizing or compiling the file (null when there is none).
"""

import ast
import io
import json
import py_compile
import sys
import tokenize


def check(path, marker):
    exposed, strings, error = [], [], None
    with open(path, "rb") as source:
        data = source.read()
    try:
        for token in tokenize.tokenize(io.BytesIO(data).readline):
            if token.type == tokenize.COMMENT:
                continue
            if token.type == tokenize.STRING:
                if not token.string.lower().startswith(("f", "rf", "fr")):
                    strings.append(ast.literal_eval(token.string))
                continue
            if token.type == tokenize.ERRORTOKEN or marker in token.string:
                exposed.append(f"{tokenize.tok_name[token.type]} {token.string!r} at line {token.start[0]}")
    except (tokenize.TokenError, SyntaxError, ValueError) as err:
        error = f"tokenize: {err}"
    try:
        py_compile.compile(path, doraise=True)
    except py_compile.PyCompileError as err:
        error = error or f"py_compile: {err.msg}"
    return {"file": path, "exposed": exposed, "strings": strings, "error": error}


def main():
    marker, files = sys.argv[1], sys.argv[2:]
    for path in files:
        print(json.dumps(check(path, marker)))


if __name__ == "__main__":
    main()
