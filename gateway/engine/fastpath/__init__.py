"""Speed shortcuts that rely on libraries' private names, all here, behind GATEWAY_FAST_PATHS.

    module               saves                                     relies on (not public API)
    direct.py            strawberry's resolver wrappers for plain  graphql-core's Executor:
                         fields (an attribute read, a method with   execute_field, build_resolve_info,
                         `self`), resolve info for scalar fields;   complete_awaitable_value,
                         the executor's reference cycle (12–18 %    complete_leaf_value, handle_field_error,
                         CPU of an uncached HomePage)               async_helpers, middleware_manager,
                                                                    executor.to_nodes; strawberry's
                                                                    StrawberryGraphQLCoreExecutionContext,
                                                                    DEFINITION_BACKREF, the closures
                                                                    `_resolver`/`_async_resolver` and
                                                                    `_is_default`, convert_argument,
                                                                    Info(_raw_info=, _field=),
                                                                    SchemaExtension._implements_resolve
    validation_cache.py  hashing the whole document per request    strawberry's validate_document,
                         to find its cached validation (~4 %)       Schema._schema
    parse_cache.py       parsing the same text again; hands the     (graphql-core's public parse; a
                         same DocumentNode to validation_cache      shortcut only with validation_cache)
    one_write.py         one system call per answer instead of      uvicorn's RequestResponseCycle
                         two (headers, then body)                   .transport and .on_response
    memory_storage.py    two thread hops per rate-limited request   limits' MemoryStorage
                         (the sweep after every hit)                ._MemoryStorage__schedule_expiry
    gc_tuning.py         hundreds of GC passes a second under load  (CPython's public gc API; a
                                                                    process-wide setting)

`tests/engine/fastpath/test_upstream_names.py` checks every one of those names (and those the
guarded server protocol, `edge/server_protocol.py`, overrides) still exists with the parameters
used. GATEWAY_FAST_PATHS=false (`Settings.fast_paths`) turns them all off: the schema executes,
parses and validates as strawberry and graphql-core ship (`engine/schema.py`), uvicorn writes its
answers itself (`edge/server_protocol.py`), the rate limits count in `limits`' own memory storage
and the GC keeps CPython's settings (`app.py`). The answers are the same either way; `./dev test`
runs the operation tests both ways.
"""
