using LlmInfra.Smoke;

return await SmokeCommand.RunAsync(args, Console.Out, Console.Error);
