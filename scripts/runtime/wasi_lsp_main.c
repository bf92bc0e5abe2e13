/* wasi-lsp's entry point for CPython on wasm32-wasi: a plain `python` main,
 * plus the Wizer hook that lets the host snapshot an interpreter whose start-up
 * imports have already run.
 *
 * Built in place of Programs/python.c by `wasi-lsp runtime build`.
 *
 * Without a snapshot, main() is Py_BytesMain(), with one built-in module more:
 * _wasi_fibers (wasi_lsp_fibers.c), the cooperative threads' stacks.
 *
 * `wizer.initialize` (run once by `wasmtime wizer`) initializes the interpreter
 * and imports the modules named in WASI_LSP_PRELOAD. Wizer then writes the
 * memory out as a new module, and in that module main() resumes the live
 * interpreter instead of starting a new one. Anything the snapshot captured
 * from its own process must not pass for this process, so resuming first:
 *   - refuses to run when the preopened directories differ from the ones the
 *     snapshot was made with (wasi-libc keeps the old table, and paths resolved
 *     through it would silently reach the wrong directory);
 *   - re-reads the environment from the host (wasi-libc cached the old one);
 *   - hands argv, the environment, random seeds, the clock origin of logging
 *     and the working directory to the Python side (RESUME_SOURCE), which
 *     refuses when a variable that shaped the import state has changed.
 * Open descriptors cannot be reopened, so the snapshot itself is refused when
 * anything beyond stdio and the preopens is still open at the end of
 * initialization.
 */

#include "Python.h"
#include "wasi_lsp_fibers.c"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

extern char **environ;
void __wasilibc_deinitialize_environ(void);
void __wasilibc_initialize_environ(void);

#define MAX_PREOPENS 64
#define MAX_NAME 512
#define EXIT_SNAPSHOT_MISMATCH 70

static int snapshot_ready = 0;
static int preopen_count = 0;
static char preopen_names[MAX_PREOPENS][MAX_NAME];
static PyObject *resume_func = NULL;

/* The Python half of resuming; compiled at snapshot time, so it costs nothing at run time. */
static const char RESUME_SOURCE[] =
"import os, sys, posix\n"
"STRUCTURAL = ('PYTHONPATH', 'PYTHONHOME', 'PYTHONHASHSEED', 'PYTHONDONTWRITEBYTECODE',\n"
"              'WASI_LSP_SITE', 'WASI_LSP_PREPEND', 'WASI_LSP_PRELOAD')\n"
"_snapshot_env = {k: os.environ.get(k) for k in STRUCTURAL}\n"
"def _refuse(text):\n"
"    sys.stderr.write('wasi-lsp snapshot: ' + text + '\\n')\n"
"    sys.stderr.flush()\n"
"    raise SystemExit(70)\n"
"def resume(argv, environ_bytes):\n"
"    env = os.environ\n"
"    env._data.clear()\n"
"    env._data.update(environ_bytes)\n"
"    posix.environ.clear()\n"
"    posix.environ.update(environ_bytes)\n"
"    for key, old in _snapshot_env.items():\n"
"        if env.get(key) != old:\n"
"            _refuse('%s is %r now but was %r when the snapshot was made; '\n"
"                    'rebuild it with wasi-lsp runtime snapshot' % (key, env.get(key), old))\n"
"    mods = sys.modules\n"
"    if 'random' in mods:\n"
"        mods['random'].seed()\n"
"    if 'logging' in mods:\n"
"        import time\n"
"        mods['logging']._startTime = time.time()\n"
"    if 'tempfile' in mods:\n"
"        mods['tempfile']._name_sequence = None\n"
"    cwd = env.get('WASI_LSP_CWD')\n"
"    if cwd:\n"
"        try:\n"
"            os.chdir(cwd)\n"
"        except OSError as error:\n"
"            sys.stderr.write('wasi-lsp: cannot enter working directory %s: %s\\n' % (cwd, error))\n"
"    for stream, fd in ((sys.stdout, 1), (sys.stderr, 2)):\n"
"        try:\n"
"            stream.reconfigure(line_buffering=os.isatty(fd))\n"
"        except (OSError, ValueError):\n"
"            pass\n"
"    sys.orig_argv = list(argv)\n"
"    args = list(argv[1:])\n"
"    import runpy\n"
"    if args[:1] == ['-m'] and len(args) >= 2:\n"
"        sys.argv = [args[1], *args[2:]]\n"
"        sys.path.insert(0, os.getcwd())\n"
"        runpy._run_module_as_main(args[1], alter_argv=True)\n"
"    elif args[:1] == ['-c'] and len(args) >= 2:\n"
"        sys.argv = ['-c', *args[2:]]\n"
"        sys.path.insert(0, '')\n"
"        main = sys.modules['__main__']\n"
"        exec(compile(args[1], '<string>', 'exec'), main.__dict__)\n"
"    elif args and not args[0].startswith('-'):\n"
"        sys.argv = args\n"
"        sys.path.insert(0, os.path.dirname(os.path.abspath(args[0])))\n"
"        runpy.run_path(args[0], run_name='__main__')\n"
"    else:\n"
"        _refuse('a snapshot runs -m MODULE, -c CODE or a script, not %r; '\n"
"                'run the plain runtime for other options' % (args,))\n";

/* The name a preopened descriptor was granted under, or -1 when fd is not a preopen. */
static int preopen_name(int fd, char *out, size_t size) {
    __wasi_prestat_t prestat;
    if (__wasi_fd_prestat_get(fd, &prestat) != 0 || prestat.tag != __WASI_PREOPENTYPE_DIR)
        return -1;
    size_t len = prestat.u.dir.pr_name_len;
    if (len + 1 > size)
        len = size - 1;
    if (__wasi_fd_prestat_dir_name(fd, (uint8_t *)out, len) != 0)
        return -1;
    out[len] = '\0';
    return 0;
}

static void fail(const char *what) {
    fprintf(stderr, "wasi-lsp snapshot: %s\n", what);
    fflush(stderr);
    exit(EXIT_SNAPSHOT_MISMATCH);
}

__attribute__((export_name("wizer.initialize")))
void wizer_initialize(void) {
    PyImport_AppendInittab("_wasi_fibers", PyInit__wasi_fibers);
    PyStatus status;
    PyConfig config;
    PyConfig_InitPythonConfig(&config);
    char *argv[] = {"python", NULL};
    config.parse_argv = 0;
    status = PyConfig_SetBytesArgv(&config, 1, argv);
    if (!PyStatus_Exception(status))
        status = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(status))
        Py_ExitStatusException(status);

    PyObject *namespace = PyDict_New();
    if (namespace == NULL || PyDict_SetItemString(namespace, "__builtins__", PyEval_GetBuiltins()) < 0)
        goto error;
    PyObject *result = PyRun_String(RESUME_SOURCE, Py_file_input, namespace, namespace);
    if (result == NULL)
        goto error;
    Py_DECREF(result);
    resume_func = PyDict_GetItemString(namespace, "resume");
    Py_XINCREF(resume_func);

    const char *preload = getenv("WASI_LSP_PRELOAD");
    if (preload && *preload) {
        char *list = strdup(preload);
        for (char *name = strtok(list, ","); name; name = strtok(NULL, ",")) {
            PyObject *module = PyImport_ImportModule(name);
            if (module == NULL)
                goto error;
            Py_DECREF(module);
        }
        free(list);
    }
    PyObject *gc = PyImport_ImportModule("gc");
    if (gc) {
        PyObject *r = PyObject_CallMethod(gc, "collect", NULL);
        Py_XDECREF(r);
        Py_DECREF(gc);
    }
    if (PyRun_SimpleString("import sys; sys.stdout.flush(); sys.stderr.flush()") != 0)
        goto error;

    int fd = 3;
    for (; fd < 3 + MAX_PREOPENS; fd++) {
        if (preopen_name(fd, preopen_names[preopen_count], MAX_NAME) != 0)
            break;
        preopen_count++;
    }
    for (int extra = fd; extra < fd + 64; extra++) {
        __wasi_fdstat_t stat;
        if (__wasi_fd_fdstat_get(extra, &stat) == 0) {
            fprintf(stderr, "wasi-lsp snapshot: descriptor %d is still open after the preloads; "
                            "a snapshot cannot carry open files\n", extra);
            exit(EXIT_SNAPSHOT_MISMATCH);
        }
    }
    snapshot_ready = 1;
    return;
error:
    PyErr_Print();
    exit(1);
}

static void check_preopens(void) {
    char name[MAX_NAME];
    for (int i = 0; i < preopen_count; i++) {
        if (preopen_name(3 + i, name, sizeof name) != 0 || strcmp(name, preopen_names[i]) != 0) {
            fprintf(stderr, "wasi-lsp snapshot: mount %d is %s now but was %s when the snapshot was made; "
                            "the run must mount what the snapshot mounted, in the same order\n",
                    i + 1, preopen_name(3 + i, name, sizeof name) == 0 ? name : "(nothing)",
                    preopen_names[i]);
            fflush(stderr);
            exit(EXIT_SNAPSHOT_MISMATCH);
        }
    }
}

static int resume(int argc, char **argv) {
    check_preopens();
    __wasilibc_deinitialize_environ();
    __wasilibc_initialize_environ();

    PyObject *args = PyList_New(0);
    PyObject *env = PyDict_New();
    if (args == NULL || env == NULL)
        fail("out of memory while resuming");
    for (int i = 0; i < argc; i++) {
        PyObject *arg = PyUnicode_DecodeFSDefault(argv[i]);
        if (arg == NULL || PyList_Append(args, arg) < 0)
            fail("cannot decode argv");
        Py_DECREF(arg);
    }
    for (char **entry = environ; entry && *entry; entry++) {
        const char *eq = strchr(*entry, '=');
        if (eq == NULL)
            continue;
        PyObject *key = PyBytes_FromStringAndSize(*entry, eq - *entry);
        PyObject *value = PyBytes_FromString(eq + 1);
        if (key == NULL || value == NULL || PyDict_SetItem(env, key, value) < 0)
            fail("cannot read the environment");
        Py_DECREF(key);
        Py_DECREF(value);
    }
    PyObject *result = PyObject_CallFunctionObjArgs(resume_func, args, env, NULL);
    Py_DECREF(args);
    Py_DECREF(env);
    int code = 0;
    if (result == NULL) {
        PyErr_Print(); /* exits for SystemExit */
        code = 1;
    }
    Py_XDECREF(result);
    if (Py_FinalizeEx() < 0 && code == 0)
        code = 120;
    return code;
}

int main(int argc, char **argv) {
    if (snapshot_ready)
        return resume(argc, argv);
    PyImport_AppendInittab("_wasi_fibers", PyInit__wasi_fibers);
    return Py_BytesMain(argc, argv);
}
