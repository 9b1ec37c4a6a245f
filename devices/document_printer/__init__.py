"""A4 document printer for certificates: a CUPS queue, followed job by job, or a simulator.

Modules (each readable on its own):

- ``urls``        ``cups://QUEUE[?server=HOST:PORT]`` and ``sim://`` and their settings
- ``conditions``  IPP printer and job states and reasons -> one state and a Chinese/English sentence;
                  the typed :class:`PrintResult`
- ``pdf``         the PDF sanity check done before anything is sent
- ``cups_queue``  a CUPS queue through pycups (why pycups and not ``lp``: see its docstring)
- ``simulator``   ``sim://``: an in-process queue that keeps its PDFs, jams and runs out of paper
- ``driver``      :class:`DocumentPrinter`, the thread that owns the queue

Importing this package does no work: pycups loads when a ``cups://`` queue is first opened.
"""
