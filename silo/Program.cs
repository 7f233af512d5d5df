using DigitalPost.Silo;

// Configuration and the files it names are read from beside the silo's dll, wherever it is started from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddDigitalPostSilo();
var app = builder.Build();
app.MapDigitalPost();
app.Run();

public partial class Program;
