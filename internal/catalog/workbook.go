package catalog

// Workbook is the book as it ships: every lesson, every exercise, every point.
// Change a title here and the lesson text's heading must change with it;
// `go run ./cmd/workbook verify` says so if it does not.
var Workbook = Book{
	{
		Number: 1,
		Dir:    "01-polling",
		Title:  "HTTP polling",
		Exercises: []Exercise{
			{ID: "1.1", Title: "An append-only message log", Points: 10},
			{ID: "1.2", Title: "Waiting for the next message", Points: 15},
			{ID: "1.3", Title: "The short-polling API", Points: 20},
			{ID: "1.4", Title: "The long-polling endpoint", Points: 20},
			{ID: "1.5", Title: "A short-polling client", Points: 15},
			{ID: "1.6", Title: "A long-polling client", Points: 20},
		},
	},
	{
		Number: 2,
		Dir:    "02-raw-websocket",
		Title:  "A raw WebSocket",
		Exercises: []Exercise{
			{ID: "2.1", Title: "The accept key", Points: 5},
			{ID: "2.2", Title: "Frame headers", Points: 15},
			{ID: "2.3", Title: "Masking", Points: 10},
			{ID: "2.4", Title: "The server handshake", Points: 15},
			{ID: "2.5", Title: "The client handshake", Points: 10},
			{ID: "2.6", Title: "Writing messages", Points: 15},
			{ID: "2.7", Title: "Reading messages", Points: 20},
			{ID: "2.8", Title: "Validating text as it streams", Points: 10},
			{ID: "2.9", Title: "The closing handshake", Points: 10},
			{ID: "2.10", Title: "Writing a batch", Points: 10},
		},
	},
	{
		Number: 3,
		Dir:    "03-events",
		Title:  "Events",
		Exercises: []Exercise{
			{ID: "3.1", Title: "Engine.IO packets", Points: 10},
			{ID: "3.2", Title: "Socket.IO packets", Points: 15},
			{ID: "3.3", Title: "The Engine.IO session", Points: 15},
			{ID: "3.4", Title: "Sockets, On and Emit", Points: 20},
			{ID: "3.5", Title: "Broadcast and rooms", Points: 15},
			{ID: "3.6", Title: "Acknowledgements", Points: 10},
			{ID: "3.7", Title: "Namespaces and middleware", Points: 10},
			{ID: "3.8", Title: "The Go client", Points: 15},
			{ID: "3.9", Title: "Connection state recovery", Points: 15},
		},
	},
	{
		Number: 4,
		Dir:    "04-express-style-server",
		Title:  "An express-style server",
		Exercises: []Exercise{
			{ID: "4.1", Title: "Routes and one error handler", Points: 10},
			{ID: "4.2", Title: "JSON bodies and static files", Points: 10},
			{ID: "4.3", Title: "The origin allowlist", Points: 10},
			{ID: "4.4", Title: "Engine.IO long-polling", Points: 20},
			{ID: "4.5", Title: "Upgrading to WebSocket", Points: 15},
			{ID: "4.6", Title: "Storing messages in SQLite", Points: 10},
			{ID: "4.7", Title: "send-message and message-saved", Points: 15},
			{ID: "4.8", Title: "Graceful shutdown", Points: 10},
		},
	},
	{
		Number: 5,
		Dir:    "05-client-connect-after-login",
		Title:  "Connecting after login",
		Exercises: []Exercise{
			{ID: "5.1", Title: "Users and password hashes", Points: 15},
			{ID: "5.2", Title: "Tokens that expire", Points: 15},
			{ID: "5.3", Title: "Register, log in, log out", Points: 15},
			{ID: "5.4", Title: "Checking the token at connect", Points: 15},
			{ID: "5.5", Title: "Messages stamped with their user", Points: 15},
			{ID: "5.6", Title: "A client that connects after login", Points: 30},
		},
	},
	{
		Number: 6,
		Dir:    "06-scaling-out",
		Title:  "Scaling out",
		Exercises: []Exercise{
			{ID: "6.1", Title: "The adapter's wire format", Points: 15},
			{ID: "6.2", Title: "Broadcasting through Redis", Points: 20},
			{ID: "6.3", Title: "Requests between servers", Points: 20},
			{ID: "6.4", Title: "When Redis goes away", Points: 15},
		},
	},
}
