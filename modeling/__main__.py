from modeling.cli import exit_now_if_distributed, main

code = main()
exit_now_if_distributed(code)
raise SystemExit(code)
