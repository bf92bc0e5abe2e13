/* _wasi_fibers: cooperative threads that leave the C stack while they wait.
 *
 * WASI has one C stack, so a cooperative thread used to run on top of the wait
 * that started it, and could not give way to that wait before it returned.
 * A fiber is a thread's chain of interpreter frames on a thread state of its
 * own. When its frames form one chain in one evaluation loop (no C function
 * between them, the usual case once CALL_FUNCTION_EX and BEFORE_WITH inline
 * Python functions; see scripts/runtime/fibers.patch), `suspend(*())` leaves
 * the loop with the frames intact, and any later waiter can resume it. The
 * scheduler (wasi_lsp_guest.cooperative.scheduler) decides who runs.
 *
 * Included by wasi_lsp_main.c, which registers the module before the
 * interpreter starts.
 */

#include "Python.h"

PyObject *_PyFiber_Run(PyThreadState *tstate, PyObject *func, void **base, void **top, PyObject *value);
int _PyFiber_CanSuspend(PyThreadState *tstate);
extern PyObject *_PyFiber_SuspendFunc;
extern PyThreadState *_PyFiber_Tstate;

enum { FIBER_NEW, FIBER_SUSPENDED, FIBER_RUNNING, FIBER_FINISHED };

typedef struct {
    PyObject_HEAD
    PyObject *func;
    PyThreadState *tstate;
    void *base;
    void *top;
    int state;
} FiberObject;

static PyObject *
fiber_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *func;
    if (!PyArg_ParseTuple(args, "O:Fiber", &func))
        return NULL;
    if (!PyFunction_Check(func) || ((PyCodeObject *)PyFunction_GET_CODE(func))->co_argcount != 0) {
        PyErr_SetString(PyExc_TypeError, "Fiber() takes a Python function of no arguments");
        return NULL;
    }
    FiberObject *self = (FiberObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->tstate = PyThreadState_New(PyInterpreterState_Get());
    if (self->tstate == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    self->func = Py_NewRef(func);
    self->state = FIBER_NEW;
    return (PyObject *)self;
}

static void
fiber_dealloc(FiberObject *self)
{
    /* A fiber suspended forever keeps its thread state and frames: clearing
       them would run arbitrary finalizers on a stack that is not theirs. At
       exit the interpreter deletes every thread state itself. */
    if (self->tstate != NULL && self->state != FIBER_SUSPENDED && self->state != FIBER_RUNNING
            && !_Py_IsFinalizing()) {
        PyThreadState_Clear(self->tstate);
        PyThreadState_Delete(self->tstate);
    }
    Py_XDECREF(self->func);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Run the fiber until it suspends (False) or finishes (True); its exception propagates. */
static PyObject *
fiber_resume(FiberObject *self, PyObject *Py_UNUSED(ignored))
{
    if (self->state == FIBER_RUNNING || self->state == FIBER_FINISHED) {
        PyErr_SetString(PyExc_RuntimeError,
                        self->state == FIBER_RUNNING ? "fiber is already running" : "fiber has finished");
        return NULL;
    }
    PyThreadState *host = PyThreadState_Get();
    PyThreadState *outer = _PyFiber_Tstate;
    self->state = FIBER_RUNNING;
    PyThreadState_Swap(self->tstate);
    _PyFiber_Tstate = self->tstate;
    PyObject *result = _PyFiber_Run(self->tstate, self->func, &self->base, &self->top, Py_None);
    PyObject *type = NULL, *value = NULL, *traceback = NULL;
    int suspended = result == NULL && self->base != NULL && !PyErr_Occurred();
    if (result == NULL && !suspended)
        PyErr_Fetch(&type, &value, &traceback);
    _PyFiber_Tstate = outer;
    PyThreadState_Swap(host);
    if (suspended) {
        self->state = FIBER_SUSPENDED;
        Py_RETURN_FALSE;
    }
    self->state = FIBER_FINISHED;
    Py_CLEAR(self->func);
    if (result == NULL) {
        PyErr_Restore(type, value, traceback);
        return NULL;
    }
    Py_DECREF(result);
    Py_RETURN_TRUE;
}

static PyObject *
fiber_get_suspended(FiberObject *self, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(self->state == FIBER_SUSPENDED);
}

static PyObject *
fiber_get_finished(FiberObject *self, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(self->state == FIBER_FINISHED);
}

static PyMethodDef fiber_methods[] = {
    {"resume", (PyCFunction)fiber_resume, METH_NOARGS,
     "Run until the fiber suspends (False) or finishes (True)."},
    {NULL},
};

static PyGetSetDef fiber_getset[] = {
    {"suspended", (getter)fiber_get_suspended, NULL, NULL, NULL},
    {"finished", (getter)fiber_get_finished, NULL, NULL, NULL},
    {NULL},
};

static PyTypeObject FiberType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_wasi_fibers.Fiber",
    .tp_basicsize = sizeof(FiberObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Fiber(func): func() as a cooperative thread that can suspend while it waits.",
    .tp_new = fiber_new,
    .tp_dealloc = (destructor)fiber_dealloc,
    .tp_methods = fiber_methods,
    .tp_getset = fiber_getset,
};

/* Only reached when the evaluation loop could not suspend: called without *(). */
static PyObject *
fibers_suspend(PyObject *module, PyObject *args)
{
    PyErr_SetString(PyExc_RuntimeError,
                    "suspend() must be called as suspend(*()) where can_suspend() is true");
    return NULL;
}

static PyObject *
fibers_can_suspend(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(_PyFiber_CanSuspend(PyThreadState_Get()));
}

static PyObject *
fibers_in_fiber(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(_PyFiber_Tstate != NULL && _PyFiber_Tstate == PyThreadState_Get());
}

static PyMethodDef fibers_functions[] = {
    {"suspend", fibers_suspend, METH_VARARGS,
     "suspend(*()): leave the running fiber's frames as they are; resume() continues them."},
    {"can_suspend", fibers_can_suspend, METH_NOARGS,
     "Whether the running fiber's frames form one chain that suspend(*()) can leave."},
    {"in_fiber", fibers_in_fiber, METH_NOARGS, "Whether code runs in a fiber (not the main thread)."},
    {NULL},
};

static struct PyModuleDef fibers_module = {
    PyModuleDef_HEAD_INIT, "_wasi_fibers", NULL, -1, fibers_functions,
};

PyMODINIT_FUNC
PyInit__wasi_fibers(void)
{
    if (PyType_Ready(&FiberType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&fibers_module);
    if (module == NULL)
        return NULL;
    if (PyModule_AddObjectRef(module, "Fiber", (PyObject *)&FiberType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    _PyFiber_SuspendFunc = PyObject_GetAttrString(module, "suspend");
    if (_PyFiber_SuspendFunc == NULL) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
