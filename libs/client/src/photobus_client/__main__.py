from photobus_client.cli import main

main()
